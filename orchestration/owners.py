"""Who owns which assets (the owners the UI shows): one team per domain."""

DATA_ENGINEERING = ["team:data-engineering"]  # landing, warehouse
ANALYTICS_ENGINEERING = ["team:analytics-engineering"]  # the dbt models
ML_ENGINEERING = ["team:ml"]  # training, scoring
