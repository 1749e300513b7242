"""Support for tests and benchmarks, never imported by production code: the Elasticsearch test
server launcher (elastic_server) and the page walk run inside an installed wheel (every_page)."""
