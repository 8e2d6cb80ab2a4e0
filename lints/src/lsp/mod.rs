//! `cargo seams lsp`: a language server over stdio that shows boundary findings as they are
//! typed. It keeps one [`Engine`] for the session: open buffers are checked from their unsaved
//! text, and an edit re-parses only the file it changed, as watch mode does.
//!
//! - Diagnostics: for the whole workspace at start-up, after every change of an open Rust file,
//!   and after a save of `boundaries.toml` (a configuration error is shown at its span there,
//!   and the findings of the last good check stay on the other files).
//! - Code actions: an `undeclared-dependency` finding offers to add the module it uses to the
//!   user's `depends_on`, an edit of `boundaries.toml` that keeps its formatting.
//! - Hover: on a path that points into another module, which module owns it and whether the
//!   path is public there.

mod convert;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{CodeActionRequest, HoverRequest, Request as _};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionProviderCapability, Diagnostic,
    DiagnosticSeverity, Hover, HoverContents, HoverParams, HoverProviderCapability, InitializeParams, MarkupContent,
    MarkupKind, NumberOrString, PublishDiagnosticsParams, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, TextEdit, Uri, WorkspaceEdit,
};

use crate::check::{CheckError, CheckOptions, CheckOutcome, Engine};
use crate::cli::{EXIT_CLEAN, EXIT_ERROR};
use crate::diagnostic::{RuleCode, Severity, Site};
use convert::{LineMap, path_of, uri_of};

/// The server's state between messages.
struct Server {
    connection: Connection,
    engine: Engine,
    root: PathBuf,
    config_path: PathBuf,
    /// The last check that succeeded: hover and code actions read it, and it stays on screen
    /// while `boundaries.toml` has an error.
    last: Option<CheckOutcome>,
    /// The unsaved text of `boundaries.toml`, while it is open in the editor.
    config_buffer: Option<String>,
    /// What each file was last sent, so that only files whose findings changed are sent again
    /// (and a fixed file is sent an empty list).
    published: BTreeMap<PathBuf, Vec<Diagnostic>>,
}

/// Runs the language server on stdin and stdout until the client says `exit` or goes away.
pub fn run_language_server() -> ExitCode {
    let (connection, io_threads) = Connection::stdio();
    let code = match serve(connection) {
        Ok(()) => EXIT_CLEAN,
        Err(message) => {
            eprintln!("seams lsp: {message}");
            EXIT_ERROR
        }
    };
    // The reader thread ends when the client closes stdin; a client that vanished is not an error.
    let _ = io_threads.join();
    ExitCode::from(code)
}

fn serve(connection: Connection) -> Result<(), String> {
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::FULL),
            save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            ..TextDocumentSyncOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    let capabilities = serde_json::to_value(capabilities).map_err(|error| error.to_string())?;
    let params = connection.initialize(capabilities).map_err(|error| error.to_string())?;
    let params: InitializeParams = serde_json::from_value(params).map_err(|error| error.to_string())?;
    let root = workspace_root(&params)
        .or_else(|| std::env::current_dir().ok())
        .ok_or("the client named no workspace folder, and there is no current directory")?;
    let config_path = root.join("boundaries.toml");
    let options = CheckOptions { manifest_path: Some(root.join("Cargo.toml")), ..CheckOptions::default() };
    let mut engine = Engine::in_memory(options);
    // The server hears of every saved manifest (below), so cargo metadata runs only then.
    engine.keep_workspace();
    let mut server =
        Server { connection, engine, root, config_path, config_buffer: None, last: None, published: BTreeMap::new() };
    server.check_and_publish();
    server.run()
}

/// The workspace the client opened: its first folder, or the older `rootUri`.
fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(folder) = params.workspace_folders.as_ref().and_then(|folders| folders.first()) {
        return path_of(&folder.uri);
    }
    #[allow(deprecated)]
    params.root_uri.as_ref().and_then(path_of)
}

impl Server {
    fn run(&mut self) -> Result<(), String> {
        while let Ok(message) = self.connection.receiver.recv() {
            match message {
                Message::Request(request) => {
                    if self.connection.handle_shutdown(&request).map_err(|error| error.to_string())? {
                        return Ok(());
                    }
                    let response = self.answer(request);
                    self.send(Message::Response(response));
                }
                Message::Notification(notification) => self.notified(notification),
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    fn send(&self, message: Message) {
        // The client went away: the receiver loop ends on its own.
        let _ = self.connection.sender.send(message);
    }

    /// Answers one request. A request that fails (bad parameters, a bug) gets an error response
    /// and the server goes on: one request never takes it down.
    fn answer(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match request.method.as_str() {
            HoverRequest::METHOD => {
                let params: HoverParams = parse(request.params)?;
                to_value(self.hover(&params))
            }
            CodeActionRequest::METHOD => {
                let params: CodeActionParams = parse(request.params)?;
                to_value(self.code_actions(&params))
            }
            other => Err(format!("method not supported: {other}")),
        }));
        match result {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err(message)) => error_response(id, lsp_server::ErrorCode::InvalidParams, message),
            Err(_) => {
                error_response(id, lsp_server::ErrorCode::InternalError, "the request failed inside seams".into())
            }
        }
    }

    fn notified(&mut self, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(params) = parse::<lsp_types::DidOpenTextDocumentParams>(notification.params) {
                    self.buffer_changed(&params.text_document.uri, Some(params.text_document.text));
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(mut params) = parse::<lsp_types::DidChangeTextDocumentParams>(notification.params) {
                    // Full synchronisation: the last change holds the whole text.
                    if let Some(change) = params.content_changes.pop() {
                        self.buffer_changed(&params.text_document.uri, Some(change.text));
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(params) = parse::<lsp_types::DidCloseTextDocumentParams>(notification.params) {
                    self.buffer_changed(&params.text_document.uri, None);
                }
            }
            DidSaveTextDocument::METHOD => {
                let Ok(params) = parse::<lsp_types::DidSaveTextDocumentParams>(notification.params) else { return };
                let Some(path) = path_of(&params.text_document.uri) else { return };
                if path.file_name().is_some_and(|name| name == "Cargo.toml") {
                    self.engine.reload_workspace();
                    self.check_and_publish();
                } else if path == self.config_path {
                    self.check_and_publish();
                }
            }
            _ => {}
        }
    }

    /// An open buffer's new text (or its closing): Rust buffers are checked as they are;
    /// `boundaries.toml` is read from disk, so only a save re-checks it.
    fn buffer_changed(&mut self, uri: &Uri, text: Option<String>) {
        let Some(path) = path_of(uri) else { return };
        if path == self.config_path {
            // An open boundaries.toml is checked as it is typed, like a Rust buffer.
            self.config_buffer = text;
            self.check_and_publish();
            return;
        }
        if path.extension().is_none_or(|extension| extension != "rs") {
            return;
        }
        match text {
            Some(text) => self.engine.set_buffer(path, text),
            None => self.engine.remove_buffer(&path),
        }
        self.check_and_publish();
    }

    /// Checks the workspace and sends the files whose findings changed their new list; a file that
    /// had findings and has none now is sent an empty one.
    fn check_and_publish(&mut self) {
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &self.config_buffer {
            Some(text) => self.engine.check_with_config_text(text),
            None => self.engine.check(),
        }));
        let mut by_file: BTreeMap<PathBuf, Vec<Diagnostic>> = BTreeMap::new();
        match checked {
            Ok(Ok(outcome)) => {
                for (file, diagnostic) in findings(&outcome) {
                    by_file.entry(self.root.join(file)).or_default().push(diagnostic);
                }
                self.last = Some(outcome);
            }
            Ok(Err(error)) => {
                // The last good findings stay on the other files.
                if let Some(outcome) = &self.last {
                    for (file, diagnostic) in findings(outcome) {
                        by_file.entry(self.root.join(file)).or_default().push(diagnostic);
                    }
                }
                let text = self.config_text().unwrap_or_default();
                let (file, diagnostic) = check_error(&self.config_path, &text, &error);
                by_file.entry(file).or_default().push(diagnostic);
            }
            Err(_) => {
                let diagnostic = plain_diagnostic("seams failed inside while checking; this is a bug in seams".into());
                by_file.entry(self.config_path.clone()).or_default().push(diagnostic);
            }
        }
        let fixed: Vec<PathBuf> = self.published.keys().filter(|path| !by_file.contains_key(*path)).cloned().collect();
        for path in fixed {
            by_file.insert(path, Vec::new());
        }
        for (path, diagnostics) in by_file {
            if self.published.get(&path).map_or(diagnostics.is_empty(), |sent| *sent == diagnostics) {
                continue;
            }
            if diagnostics.is_empty() {
                self.published.remove(&path);
            } else {
                self.published.insert(path.clone(), diagnostics.clone());
            }
            let Some(uri) = uri_of(&path) else { continue };
            let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
            self.send(Message::Notification(Notification::new(PublishDiagnostics::METHOD.to_owned(), params)));
        }
    }

    fn hover(&self, params: &HoverParams) -> Option<Hover> {
        let outcome = self.last.as_ref()?;
        let position = &params.text_document_position_params;
        let path = path_of(&position.text_document.uri)?;
        let relative = relative_path(&self.root, &path)?;
        let file = outcome.model.files.iter().find(|file| file.relative == relative)?;
        let offset = LineMap::new(&file.text).offset(&file.text, position.position)?;
        let reference = outcome
            .model
            .cross_module_references()
            .filter(|reference| reference.file.relative == relative)
            .find(|reference| reference.reference.site.bytes.contains(&offset))?;
        let module = &outcome.model.modules[reference.to];
        let public = module.is_public_path(reference.below_root);
        let path_text = outcome.model.display_target(reference.file.unit, &reference.reference.target);
        let visibility = if public {
            "public: other modules may use it".to_owned()
        } else {
            format!("internal: only `{}` may use it (its `public` is {:?})", module.name, module.public)
        };
        let from = &outcome.model.modules[reference.from].name;
        let text = format!(
            "`{path_text}` belongs to module `{}`, and is {visibility}. This file is in module `{from}`.",
            module.name
        );
        let range = LineMap::new(&file.text).range(&file.text, &reference.reference.site);
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
            range,
        })
    }

    /// Quick fixes for the findings in the requested range: the public path of an internal item,
    /// the missing `depends_on` entry, and a reasoned allow.
    fn code_actions(&self, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let Some(outcome) = &self.last else { return Vec::new() };
        let Some(path) = path_of(&params.text_document.uri) else { return Vec::new() };
        let Some(relative) = relative_path(&self.root, &path) else { return Vec::new() };
        let mut actions = Vec::new();
        let mut offered = BTreeSet::new();
        let mut lines = None;
        for violation in outcome.violations().iter().filter(|violation| !violation.baselined) {
            if violation.source.file != relative {
                continue;
            }
            let lines: &LineMap = lines.get_or_insert_with(|| LineMap::new(&violation.source.text));
            let Some(range) = lines.range(&violation.source.text, &violation.site) else { continue };
            if !overlaps(range, params.range) {
                continue;
            }
            let diagnostic = violation_diagnostic(violation, range);
            if let Some(replacement) = &violation.suggestion {
                let edit = TextEdit { range, new_text: replacement.clone() };
                let title = format!("Use the public path `{replacement}`");
                actions.push(quick_fix(title, &diagnostic, params.text_document.uri.clone(), vec![edit], true));
            }
            if violation.rule == RuleCode::UndeclaredDependency
                && offered.insert((violation.from_module.clone(), violation.to_module.clone()))
                && let Some(action) = self.add_dependency(violation, &diagnostic)
            {
                actions.push(action);
            }
            if violation.rule.can_be_allowed_in_code() && relative.ends_with(".rs") {
                let edit = allow_above(&violation.source.text, lines, violation);
                let title = format!("Allow `{}` here, with a reason (seams:allow)", violation.rule.as_str());
                actions.push(quick_fix(title, &diagnostic, params.text_document.uri.clone(), vec![edit], false));
            }
        }
        actions
    }

    /// `boundaries.toml` as the editor shows it: its unsaved buffer when the file is open.
    fn config_text(&self) -> Option<String> {
        self.config_buffer.clone().or_else(|| std::fs::read_to_string(&self.config_path).ok())
    }

    /// Adds `to` to the `depends_on` of `from` in boundaries.toml, keeping the file's formatting.
    fn add_dependency(
        &self,
        violation: &crate::diagnostic::Violation,
        diagnostic: &Diagnostic,
    ) -> Option<CodeActionOrCommand> {
        let text = self.config_text()?;
        let edited = crate::sync::add_dependency(&text, &violation.from_module, &violation.to_module)?;
        let end = LineMap::new(&text).end(&text);
        let edit =
            TextEdit { range: lsp_types::Range { start: lsp_types::Position::new(0, 0), end }, new_text: edited };
        let title = format!(
            "Add `{}` to the `depends_on` of `{}` in boundaries.toml",
            violation.to_module, violation.from_module
        );
        Some(quick_fix(title, diagnostic, uri_of(&self.config_path)?, vec![edit], true))
    }
}

/// A quick fix that edits one file.
fn quick_fix(
    title: String,
    diagnostic: &Diagnostic,
    uri: Uri,
    edits: Vec<TextEdit>,
    preferred: bool,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(WorkspaceEdit { changes: Some([(uri, edits)].into_iter().collect()), ..WorkspaceEdit::default() }),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    })
}

/// A `seams:allow` comment on its own line above the finding, indented like that line, with a
/// placeholder for the reason that the allow requires.
fn allow_above(text: &str, lines: &LineMap, violation: &crate::diagnostic::Violation) -> TextEdit {
    let line_start = text[..violation.site.bytes.start.min(text.len())].rfind('\n').map_or(0, |index| index + 1);
    let indent: String =
        text[line_start..].chars().take_while(|character| *character == ' ' || *character == '\t').collect();
    let at = lines.position(text, line_start);
    TextEdit {
        range: lsp_types::Range { start: at, end: at },
        new_text: format!(
            "{indent}// seams:allow({}): REASON (why this crossing is acceptable)\n",
            violation.rule.as_str()
        ),
    }
}

fn overlaps(a: lsp_types::Range, b: lsp_types::Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    Some(relative.to_string_lossy().replace('\\', "/"))
}

/// Every finding of a check that the baseline does not cover, by workspace-relative file.
fn findings(outcome: &CheckOutcome) -> Vec<(String, Diagnostic)> {
    let mut out = Vec::new();
    // One line map per file, however many findings it has: this runs on every keystroke.
    let mut maps: HashMap<&str, LineMap> = HashMap::new();
    for violation in outcome.violations().iter().filter(|violation| !violation.baselined) {
        let lines = maps.entry(&violation.source.file).or_insert_with(|| LineMap::new(&violation.source.text));
        let Some(range) = lines.range(&violation.source.text, &violation.site) else { continue };
        out.push((violation.source.file.clone(), violation_diagnostic(violation, range)));
    }
    for warning in outcome.warnings() {
        let range = warning
            .site
            .as_ref()
            .and_then(|site| {
                let text = outcome.model.files.iter().find(|file| file.relative == warning.file)?;
                LineMap::new(&text.text).range(&text.text, site)
            })
            .unwrap_or_default();
        let mut diagnostic = plain_diagnostic(warning.message.clone());
        diagnostic.range = range;
        diagnostic.severity = Some(DiagnosticSeverity::WARNING);
        diagnostic.code = Some(NumberOrString::String(warning.code.as_str().to_owned()));
        out.push((warning.file.clone(), diagnostic));
    }
    out
}

fn violation_diagnostic(violation: &crate::diagnostic::Violation, range: lsp_types::Range) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(match violation.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(violation.rule.as_str().to_owned())),
        source: Some("seams".to_owned()),
        message: format!("{}\nhelp: {}", violation.message, violation.help),
        ..Diagnostic::default()
    }
}

fn plain_diagnostic(message: String) -> Diagnostic {
    Diagnostic {
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some("seams".to_owned()),
        message,
        ..Diagnostic::default()
    }
}

/// A check that could not run: a configuration error at its span in boundaries.toml, anything
/// else (Cargo could not read the workspace) at the top of it.
fn check_error(config_path: &Path, text: &str, error: &CheckError) -> (PathBuf, Diagnostic) {
    use miette::Diagnostic as _;
    let mut message = error.to_string();
    if let Some(help) = error.help() {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let mut diagnostic = plain_diagnostic(message);
    diagnostic.code = error.code().map(|code| NumberOrString::String(code.to_string()));
    if let Some(label) = error.labels().and_then(|mut labels| labels.next()) {
        let start = label.offset().min(text.len());
        let end = (label.offset() + label.len()).min(text.len());
        let site = Site { line: 0, column: 0, bytes: start..end };
        if let Some(range) = LineMap::new(text).range(text, &site) {
            diagnostic.range = range;
        }
    }
    (config_path.to_owned(), diagnostic)
}

fn parse<T: serde::de::DeserializeOwned>(params: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(params).map_err(|error| format!("bad parameters: {error}"))
}

fn to_value(value: impl serde::Serialize) -> Result<serde_json::Value, String> {
    serde_json::to_value(value).map_err(|error| error.to_string())
}

fn error_response(id: RequestId, code: lsp_server::ErrorCode, message: String) -> Response {
    Response::new_err(id, code as i32, message)
}
