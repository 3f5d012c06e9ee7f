"""Routing: stage-1 capability scoring, stage-2 selection (Gemini or offline), and parallel invocation."""
