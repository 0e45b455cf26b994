"""The fixed prompts of the serving benchmark, shared by the endpoint's clients and the baseline."""

from __future__ import annotations

PROMPTS = (
    "Write a short poem about the sea.",
    "Explain what a CPU does, in simple words.",
    "List five fruits and their colours.",
    "Why is the sky blue?",
    "Give three tips for learning a new language.",
    "Describe a busy airport in the morning.",
    "What is machine learning?",
    "Tell a short story about a lost cat.",
)


def chat_messages(prompt: str) -> list[dict]:
    return [{"role": "user", "content": prompt}]
