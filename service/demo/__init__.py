"""The offline demo: sample feeds written for it, served on loopback (`rivalwatch demo`)."""
