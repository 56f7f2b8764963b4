"""Jobs: the service's runner (one writer, in order) and the durable webhook inbox."""
