"""Synthesis: calling an OpenAI-compatible model (client, cache, cost) to make candidate examples."""
