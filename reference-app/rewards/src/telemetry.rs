//! Structured logs through `tracing`, as text or JSON, on stderr (stdout is kept for the address line that parents
//! and tests read).

use tracing_subscriber::EnvFilter;

/// The log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event, with the span fields (including `trace_id`).
    Json,
}

impl LogFormat {
    /// The same choice as a command-line argument, for child services.
    pub fn to_argument(self) -> String {
        match self {
            LogFormat::Text => "--log-format=text".to_owned(),
            LogFormat::Json => "--log-format=json".to_owned(),
        }
    }
}

/// Installs the global subscriber. `RUST_LOG` overrides the default level, `info`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    };
    // A second initialisation (several commands in one test process) keeps the first subscriber.
    drop(installed);
}
