//! Reading a source file's text: from an editor's unsaved buffer when there is one, from disk
//! otherwise. Bytes that are not UTF-8 are a warning at the first bad byte, not a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Site, line_column};

/// Texts that stand in for files on disk: an editor's unsaved buffers, by absolute path.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buffers {
    texts: BTreeMap<PathBuf, Arc<String>>,
}

impl Buffers {
    pub(crate) fn set(&mut self, path: PathBuf, text: String) {
        self.texts.insert(path, Arc::new(text));
    }

    pub(crate) fn remove(&mut self, path: &Path) {
        self.texts.remove(path);
    }

    /// The text of a file: its buffer, or what is on disk.
    pub(crate) fn read(&self, path: &Path) -> Result<String, Unreadable> {
        if let Some(text) = self.texts.get(path) {
            return Ok(String::clone(text));
        }
        let bytes = std::fs::read(path)
            .map_err(|error| Unreadable { site: None, message: format!("cannot read the file: {error}") })?;
        String::from_utf8(bytes).map_err(|error| {
            let offset = error.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(error.as_bytes());
            let (line, column) = line_column(&lossy, offset);
            Unreadable {
                site: Some(Site { line, column, bytes: offset..offset }),
                message: format!("the file is not valid UTF-8 (first bad byte at offset {offset})"),
            }
        })
    }
}

/// Why a file's text could not be had, as an `unreadable-file` warning says it.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub(crate) site: Option<Site>,
    pub(crate) message: String,
}
