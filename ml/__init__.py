"""Explainable churn model: train, calibrate, evaluate against baselines, explain every score."""

import os

# XGBoost's OpenMP threads spin while waiting by default; on a machine shared with Dagster, dbt
# and the ingestor that spinning starves everyone (training ran ~10x slower under load). Passive
# waiting costs little when the machine is quiet. Set before xgboost loads; an explicit
# OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
