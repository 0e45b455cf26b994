"""Long-lived Ray actors (the Kafka consumer, the pipeline scheduler): later issues."""
