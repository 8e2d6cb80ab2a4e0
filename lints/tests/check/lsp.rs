//! `cargo seams lsp` driven as an editor drives it: a real process, LSP over its stdin and
//! stdout, edits typed into an open buffer, a quick fix applied, hover, and shutdown.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One LSP message, framed with its `Content-Length` header.
pub fn send(stdin: &mut impl Write, message: &Value) {
    let body = message.to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stdin.flush().unwrap();
}

/// Reads LSP messages from a server's stdout until it closes, into a channel.
pub fn read_messages(stdout: std::process::ChildStdout, sender: std::sync::mpsc::Sender<Value>) {
    use std::io::{BufRead, Read};
    let mut reader = std::io::BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.unwrap_or(0)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let Ok(message) = serde_json::from_slice(&body) else { return };
        if sender.send(message).is_err() {
            return;
        }
    }
}

struct Client {
    server: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    next_id: u64,
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut server = Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
            .args(["seams", "lsp"])
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = server.stdin.take();
        let (sender, messages) = std::sync::mpsc::channel();
        let stdout = server.stdout.take().unwrap();
        std::thread::spawn(move || read_messages(stdout, sender));
        Client { server, stdin, messages, next_id: 1 }
    }

    fn notify(&mut self, method: &str, params: Value) {
        send(self.stdin.as_mut().unwrap(), &json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response; notifications that arrive meanwhile are dropped
    /// unless `keep` returns true for them.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        send(self.stdin.as_mut().unwrap(), &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let Ok(message) = self.messages.recv_timeout(Duration::from_millis(200)) else { continue };
            if message["id"] == id {
                return message;
            }
        }
        panic!("no response to {method} within 60 s");
    }

    /// Waits for the diagnostics of one file, and returns their codes with their ranges.
    fn diagnostics_of(&mut self, uri: &str) -> Vec<(String, [u64; 4], Value)> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let Ok(message) = self.messages.recv_timeout(Duration::from_millis(200)) else { continue };
            if message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri {
                let diagnostics = message["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
                return diagnostics
                    .into_iter()
                    .map(|diagnostic| {
                        let range = &diagnostic["range"];
                        let at = |point: &str, key: &str| range[point][key].as_u64().unwrap();
                        let code = diagnostic["code"].as_str().unwrap_or_default().to_owned();
                        (
                            code,
                            [at("start", "line"), at("start", "character"), at("end", "line"), at("end", "character")],
                            diagnostic,
                        )
                    })
                    .collect();
            }
        }
        panic!("no diagnostics for {uri} within 60 s");
    }
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const CONFIG: &str = "# Two modules of one crate.\n[modules.a]\ncrate = \"shop\"\npath = \"a\"\ndepends_on = []  # nothing yet\n\n[modules.b]\ncrate = \"shop\"\npath = \"b\"\n";

#[test]
fn an_editor_session_types_a_violation_sees_it_fixes_it_and_shuts_down() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().canonicalize().unwrap();
    write(&root, "Cargo.toml", "[package]\nname = \"shop\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n");
    write(&root, "src/lib.rs", "mod a;\nmod b;\n");
    write(&root, "src/a.rs", "pub fn total() -> u32 {\n    0\n}\n");
    write(
        &root,
        "src/b/mod.rs",
        "pub mod api {\n    pub use super::internal::Ledger;\n    pub struct Receipt;\n}\npub(crate) mod internal {\n    pub struct Ledger;\n}\n",
    );
    write(&root, "boundaries.toml", CONFIG);
    let root_uri = format!("file://{}", root.display());
    let a_uri = format!("{root_uri}/src/a.rs");
    let config_uri = format!("{root_uri}/boundaries.toml");

    let mut client = Client::start(&root);
    let initialized = client.request("initialize", json!({"processId": null, "rootUri": root_uri, "capabilities": {}}));
    assert_eq!(initialized["result"]["capabilities"]["hoverProvider"], true, "{initialized}");
    client.notify("initialized", json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": a_uri, "languageId": "rust", "version": 1, "text": "pub fn total() -> u32 {\n    0\n}\n"}}),
    );

    // A `use` of b's public API, typed and not saved: a does not declare b.
    let typed = "use crate::b::api::Receipt;\npub fn total() -> u32 {\n    0\n}\n";
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a_uri, "version": 2}, "contentChanges": [{"text": typed}]}),
    );
    let shown = loop {
        let diagnostics = client.diagnostics_of(&a_uri);
        if !diagnostics.is_empty() {
            break diagnostics;
        }
    };
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].0, "undeclared-dependency");
    assert_eq!(shown[0].1, [0, 4, 0, 26], "the span of `crate::b::api::Receipt`");

    // The quick fix adds b to a's depends_on and keeps the file's comments.
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": a_uri}, "range": {"start": {"line": 0, "character": 10}, "end": {"line": 0, "character": 10}},
               "context": {"diagnostics": []}}),
    );
    let action = &actions["result"][0];
    assert!(action["title"].as_str().unwrap().contains("depends_on"), "{actions}");
    let edit = &action["edit"]["changes"][&config_uri][0];
    let fixed = edit["newText"].as_str().unwrap();
    assert_eq!(fixed, CONFIG.replace("depends_on = []  # nothing yet", "depends_on = [\"b\"]  # nothing yet"));
    write(&root, "boundaries.toml", fixed);
    client.notify("textDocument/didSave", json!({"textDocument": {"uri": config_uri}}));
    assert_eq!(client.diagnostics_of(&a_uri), Vec::new(), "the finding is gone after the fix");

    // An internal path: the finding, and hover says whose it is.
    let internal = "use crate::b::internal::Ledger;\npub fn total() -> u32 {\n    0\n}\n";
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a_uri, "version": 3}, "contentChanges": [{"text": internal}]}),
    );
    let shown = client.diagnostics_of(&a_uri);
    assert_eq!(
        shown.iter().map(|(code, range, _)| (code.as_str(), *range)).collect::<Vec<_>>(),
        [("internal-import", [0, 4, 0, 30])]
    );
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": a_uri}, "position": {"line": 0, "character": 16}}),
    );
    let text = hover["result"]["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("module `b`") && text.contains("internal"), "{hover}");

    // Two quick fixes: the public path that b's API re-exports, and a reasoned allow.
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": a_uri}, "range": {"start": {"line": 0, "character": 20}, "end": {"line": 0, "character": 20}},
               "context": {"diagnostics": []}}),
    );
    let titles: Vec<&str> =
        actions["result"].as_array().unwrap().iter().map(|action| action["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        ["Use the public path `crate::b::api::Ledger`", "Allow `internal-import` here, with a reason (seams:allow)"],
        "{actions}"
    );
    let edits = |index: usize| actions["result"][index]["edit"]["changes"][&a_uri].as_array().unwrap().clone();
    let public = &edits(0)[0];
    assert_eq!(public["newText"], "crate::b::api::Ledger");
    assert_eq!(public["range"], json!({"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 30}}));
    let allow = &edits(1)[0];
    assert_eq!(allow["range"], json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}));
    assert!(allow["newText"].as_str().unwrap().starts_with("// seams:allow(internal-import): "), "{allow}");
    // The public path, applied as the editor would: the finding is gone.
    let public_text = internal.replace("crate::b::internal::Ledger", "crate::b::api::Ledger");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a_uri, "version": 4}, "contentChanges": [{"text": public_text}]}),
    );
    assert_eq!(client.diagnostics_of(&a_uri), Vec::new(), "the public path fixes it");

    // boundaries.toml typed into, not saved: the error at its line as it is typed, gone when undone.
    let broken = fixed.replace("depends_on = [\"b\"]", "depends_on = [\"nowhere\"]");
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": config_uri, "languageId": "toml", "version": 1, "text": fixed}}),
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": config_uri, "version": 2}, "contentChanges": [{"text": broken}]}),
    );
    let typed = client.diagnostics_of(&config_uri);
    assert_eq!(typed.iter().map(|(_, range, _)| range[0]).collect::<Vec<_>>(), [4], "{typed:?}");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": config_uri, "version": 3}, "contentChanges": [{"text": fixed}]}),
    );
    assert_eq!(client.diagnostics_of(&config_uri), Vec::new(), "undone, the error is gone");
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": config_uri}}));

    // A broken boundaries.toml, saved: its error at its span, a's last findings kept.
    write(&root, "boundaries.toml", &broken);
    client.notify("textDocument/didSave", json!({"textDocument": {"uri": config_uri}}));
    let mut config_error = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while config_error.is_empty() && Instant::now() < deadline {
        let Ok(message) = client.messages.recv_timeout(Duration::from_millis(200)) else { continue };
        if message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == config_uri.as_str() {
            config_error = message["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
        }
    }
    assert_eq!(config_error.len(), 1, "{config_error:?}");
    assert_eq!(config_error[0]["range"]["start"]["line"], 4, "{config_error:?}");
    assert!(config_error[0]["message"].as_str().unwrap().contains("nowhere"), "{config_error:?}");

    // A request with bad parameters is an error response, and the server keeps serving.
    let bad = client.request("textDocument/hover", json!({"nonsense": true}));
    assert!(bad["error"].is_object(), "{bad}");

    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    client.notify("exit", Value::Null);
    drop(client.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = client.server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit after `exit`");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_server_exits_when_its_client_goes_away() {
    let directory = tempfile::tempdir().unwrap();
    let mut client = Client::start(directory.path());
    drop(client.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.server.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server outlived its client");
        std::thread::sleep(Duration::from_millis(50));
    }
}
