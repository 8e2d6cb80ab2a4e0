//! Integration tests of the checker: one test binary for the crate, one module per concern.

// Every fixture workspace under `tests/fixtures`, against its `expect.txt` and snapshots.
mod fixtures;
// The command line: exit codes, formats and `--init`, through the real binary.
mod command_line;
// The baseline, --changed-since and --output, through the real binary.
mod baseline;
// The reports against docs/output.md and docs/configuration.md, so that the docs cannot go stale.
mod report_docs;
// `--message-format json|short`, read back by cargo's own message parser.
mod cargo_messages;
// `cargo seams lsp`, driven as an editor drives it.
mod lsp;
// The SARIF and JUnit reports: schema, positions, test cases and snapshots.
mod reports;
// `sync`: depends_on rewritten to what the code uses, keeping the file's formatting.
mod sync;
// The facts cache and watch mode.
mod cache_and_watch;
// docs/ci.md, executed.
mod ci_docs;
// The repository's own promises: its boundaries pass its own checker.
mod dogfood;
// `graph`: every format, and the repository's own graph in docs/.
mod graph;
// The HTML graph report, rendered by headless Chromium.
mod html_in_browser;
// No input crashes the checker: pathological workspaces, fuzzing regressions, the registry sweep.
mod robustness;
