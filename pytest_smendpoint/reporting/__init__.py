"""What the session tells people: progress lines, the summary, the JSON report, the gates."""
