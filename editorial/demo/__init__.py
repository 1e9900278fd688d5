"""The demo board and articles that ``seed_demo`` plays through the services."""
