"""Helpers shared by the test suites: real processes, real sockets, always cleaned up."""
