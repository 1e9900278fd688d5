"""The readers' site: the article index, article pages, the editorial policy, and their cache."""
