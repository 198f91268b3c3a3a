"""Helpers shared by the test suites (and the benchmarks): real processes, real sockets, always
cleaned up; the synthetic churn data and its fixtures."""
