// Package e2e holds Holdfast's end-to-end tests: the real Temporal dev
// server (the CLI built into ./bin by `make`), graphsim over HTTPS, the
// real m365 client, the worker (in-process, or as a process that is
// killed), and the holdfast CLI, with nothing of ours mocked.
package e2e
