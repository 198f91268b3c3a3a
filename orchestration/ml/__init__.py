"""The ML domain: the churn model's training set, the model, and every player's score and
reasons (the `ml` package does the work; these are its Dagster assets)."""
