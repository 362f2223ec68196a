"""The whole chain in one run: supply deliveries become AI-factory capacity; demand runs on it."""
