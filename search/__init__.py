"""Search (passages, themes, timecodes) arrives with the search issue; see architecture.md."""
