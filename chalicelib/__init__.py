"""Leadflow: serverless lead management (capture, scoring, qualification, hand-off)."""
