"""Endpoints of a session: one deployment, opened through one provider (in this process or
shared across pytest-xdist workers), the factory for more, the baseline, the SDK handles."""
