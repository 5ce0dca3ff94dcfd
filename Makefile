# The two commands a newcomer needs (see README.md).
.PHONY: demo test build
demo:  ## plan the bundled example (a zone file; no account needed)
	scripts/demo
test:  ## install what is missing, start the test servers on loopback, run every test
	scripts/test
build:
	swift build
