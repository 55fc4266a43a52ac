"""Settings: every option declared once (options.py), session names and tags (naming.py), and
SageMaker's fixed limits (limits.py)."""
