"""Support for tests and benchmarks that production code never imports: a real Elasticsearch
server launcher."""
