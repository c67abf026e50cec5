"""The notification domain: plain Python rules, no frameworks."""
