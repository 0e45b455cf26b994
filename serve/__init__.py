"""Ray Serve applications (LLM prompt endpoint, delay prediction endpoint): later issues."""
