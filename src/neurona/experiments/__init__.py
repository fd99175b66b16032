"""One module per exercise of the practical: its configuration and a runner that returns the results."""
