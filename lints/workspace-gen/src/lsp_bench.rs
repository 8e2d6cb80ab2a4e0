//! The language server's latency for one edit (issue 17): the release `cargo-seams lsp` runs as
//! the editor runs it, a separate process spoken to over its stdin and stdout, on a generated
//! workspace. Each measured edit is a `didChange` of one open file that removes (or restores) a
//! line with a finding, timed from writing the notification to reading the `publishDiagnostics`
//! for that file, which is when an editor redraws the squiggle.

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{Value, json};

use crate::bench::BenchError;

/// A running server and the client's ends of its pipes.
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Session {
    fn send(&mut self, message: Message) -> Result<(), BenchError> {
        message.write(&mut self.stdin).and_then(|()| self.stdin.flush()).map_err(protocol)
    }

    fn receive(&mut self) -> Result<Message, BenchError> {
        Message::read(&mut self.stdout)
            .map_err(protocol)?
            .ok_or_else(|| BenchError::Protocol("the language server closed its output".to_owned()))
    }

    /// Reads until the diagnostics of `uri` arrive, answering the server's own requests.
    fn diagnostics_of(&mut self, uri: &str) -> Result<Vec<Value>, BenchError> {
        loop {
            match self.receive()? {
                Message::Notification(notification)
                    if notification.method == "textDocument/publishDiagnostics"
                        && notification.params["uri"] == uri =>
                {
                    return Ok(notification.params["diagnostics"].as_array().cloned().unwrap_or_default());
                }
                Message::Request(request) => {
                    self.send(Message::Response(lsp_server::Response::new_ok(request.id, Value::Null)))?;
                }
                _ => {}
            }
        }
    }
}

fn protocol(error: std::io::Error) -> BenchError {
    BenchError::Protocol(error.to_string())
}

fn notify(method: &str, params: Value) -> Message {
    Message::Notification(Notification::new(method.to_owned(), params))
}

/// The file URI of an absolute path (generated workspaces have plain ASCII paths).
fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Measures `edits` edits of one file of `workspace` through `checker lsp`; returns each edit's
/// latency and the time to the first diagnostics after start-up.
pub fn measure_edits(checker: &Path, workspace: &Path, edits: usize) -> Result<(Duration, Vec<Duration>), BenchError> {
    let mut child = Command::new(checker)
        .arg("lsp")
        .current_dir(workspace)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| BenchError::Spawn { program: checker.display().to_string(), source })?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(BenchError::Protocol("the language server has no pipes".to_owned()));
    };
    let mut session = Session { child, stdin, stdout: BufReader::new(stdout) };
    let result = run_session(&mut session, workspace, edits);
    let _ = session.send(Message::Request(Request::new(RequestId::from(2), "shutdown".to_owned(), Value::Null)));
    let _ = session.send(notify("exit", Value::Null));
    let _ = session.child.wait();
    result
}

fn run_session(session: &mut Session, workspace: &Path, edits: usize) -> Result<(Duration, Vec<Duration>), BenchError> {
    let root = workspace.canonicalize().map_err(|source| BenchError::Io { path: workspace.to_owned(), source })?;
    let started = Instant::now();
    let initialize = json!({"processId": null, "rootUri": file_uri(&root), "capabilities": {}});
    session.send(Message::Request(Request::new(RequestId::from(1), "initialize".to_owned(), initialize)))?;
    // The start-up check runs before the server answers `initialized`'s first message: the
    // first diagnostics of any file mark its end.
    let (uri, line) = loop {
        match session.receive()? {
            Message::Response(response) if response.id == RequestId::from(1) => {
                session.send(notify("initialized", json!({})))?;
            }
            Message::Notification(notification) if notification.method == "textDocument/publishDiagnostics" => {
                let uri = notification.params["uri"].as_str().unwrap_or_default().to_owned();
                let line = notification.params["diagnostics"][0]["range"]["start"]["line"].as_u64();
                if let (true, Some(line)) = (uri.ends_with(".rs"), line) {
                    break (uri, line as usize);
                }
            }
            _ => {}
        }
    };
    let startup = started.elapsed();
    let path = Path::new(uri.trim_start_matches("file://")).to_owned();
    let original = std::fs::read_to_string(&path).map_err(|source| BenchError::Io { path: path.clone(), source })?;
    // Without the line of its first finding, the file has one finding fewer.
    let without: String = original
        .split_inclusive('\n')
        .enumerate()
        .map(|(index, text)| if index == line { "\n" } else { text })
        .collect();
    session.send(notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": original}}),
    ))?;
    // The server handles messages in order: a request's answer means the opening was checked.
    let hover = json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}});
    session.send(Message::Request(Request::new(RequestId::from(3), "textDocument/hover".to_owned(), hover)))?;
    while !matches!(session.receive()?, Message::Response(response) if response.id == RequestId::from(3)) {}
    let mut latencies = Vec::with_capacity(edits);
    for edit in 0..edits {
        let text = if edit % 2 == 0 { &without } else { &original };
        let change = json!({"textDocument": {"uri": uri, "version": edit + 2}, "contentChanges": [{"text": text}]});
        let sent = Instant::now();
        session.send(notify("textDocument/didChange", change))?;
        session.diagnostics_of(&uri)?;
        latencies.push(sent.elapsed());
    }
    Ok((startup, latencies))
}
