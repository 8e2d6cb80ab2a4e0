//! The facts cache: what was extracted from each file, keyed by the file's content and its place
//! in the crate, so that a re-check parses only the files that changed.
//!
//! It holds parse output only, never the model. In memory it is what the incremental engine
//! keeps between checks; on disk it lives under the workspace's `target/` directory (never in
//! the source tree), is safe to delete, and is ignored whole when it is corrupt or was written
//! by another version of seams.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::extract::{FileContext, FileFacts};

/// Bumped whenever the shape or meaning of [`FileFacts`] changes.
const FORMAT_VERSION: u32 = 3;
const FILE_NAME: &str = "facts.bin";

/// A 128-bit key: two SipHash passes with different prefixes, over everything the facts depend on.
pub(crate) type CacheKey = (u64, u64);

/// The key of a file's facts: its text and every input of [`crate::extract::analyse_source`].
pub(crate) fn key(context: &FileContext<'_>, text: &str) -> CacheKey {
    let hash_with = |salt: u64| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        FORMAT_VERSION.hash(&mut hasher);
        text.hash(&mut hasher);
        context.unit.hash(&mut hasher);
        context.file.hash(&mut hasher);
        context.module_path.hash(&mut hasher);
        context.children_dir.hash(&mut hasher);
        context.in_test.hash(&mut hasher);
        context.include_tests.hash(&mut hasher);
        context.extern_prelude.hash(&mut hasher);
        context.test_extern_prelude.hash(&mut hasher);
        context.root_extern_aliases.hash(&mut hasher);
        hasher.finish()
    };
    (hash_with(0x5eab_5eab), hash_with(0xfac7_5ca7))
}

/// How many files of one parse came from the cache, and how many were parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseCounts {
    pub from_cache: usize,
    pub parsed: usize,
}

/// Facts by key, shared with the files of the model that was built from them: a hit hands out
/// the same facts, never a copy, which on a warm check of a large workspace was most of the time.
#[derive(Debug, Default)]
pub(crate) struct FactsCache {
    entries: HashMap<CacheKey, Arc<FileFacts>>,
    /// What this run looked up, and what it found.
    counts: Mutex<ParseCounts>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<Entries> {
    seams_version: String,
    format_version: u32,
    entries: Entries,
}

impl FactsCache {
    /// The cache file under a target directory.
    pub(crate) fn path(target_directory: &Path) -> PathBuf {
        target_directory.join("seams-cache").join(FILE_NAME)
    }

    /// Loads the cache; anything unreadable, corrupt or from another version gives an empty one.
    pub(crate) fn load(path: &Path) -> FactsCache {
        let entries: HashMap<CacheKey, Arc<FileFacts>> = std::fs::read(path)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<Stored<Vec<(CacheKey, FileFacts)>>>(&bytes).ok())
            .filter(|stored| {
                stored.seams_version == env!("CARGO_PKG_VERSION") && stored.format_version == FORMAT_VERSION
            })
            .map(|stored| stored.entries.into_iter().map(|(key, facts)| (key, Arc::new(facts))).collect())
            .unwrap_or_default();
        FactsCache { entries, ..FactsCache::default() }
    }

    /// The facts for a key, when a previous run extracted them; counts the look-up.
    pub(crate) fn get(&self, key: &CacheKey) -> Option<Arc<FileFacts>> {
        let found = self.entries.get(key).cloned();
        let mut counts = self.counts.lock().unwrap_or_else(|poison| poison.into_inner());
        if found.is_some() {
            counts.from_cache += 1;
        } else {
            counts.parsed += 1;
        }
        found
    }

    /// The look-ups of this run.
    pub(crate) fn counts(&self) -> ParseCounts {
        *self.counts.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Makes `entries` (the facts of the files a run used) the whole cache, so that it never
    /// grows stale entries, and starts counting again. Returns whether anything changed: a run
    /// that parsed nothing and used every entry leaves the cache as it was.
    pub(crate) fn replace(&mut self, entries: impl IntoIterator<Item = (CacheKey, Arc<FileFacts>)>) -> bool {
        let counts = self.counts();
        let previous = self.entries.len();
        self.entries = entries.into_iter().collect();
        *self.counts.get_mut().unwrap_or_else(|poison| poison.into_inner()) = ParseCounts::default();
        counts.parsed > 0 || counts.from_cache != previous || self.entries.len() != previous
    }

    /// Writes the cache. A failure to write is not an error: the next run is merely cold.
    pub(crate) fn save(&self, path: &Path) {
        let mut entries: Vec<(CacheKey, &FileFacts)> =
            self.entries.iter().map(|(key, facts)| (*key, facts.as_ref())).collect();
        entries.sort_by_key(|(key, _)| *key);
        let stored =
            Stored { seams_version: env!("CARGO_PKG_VERSION").to_owned(), format_version: FORMAT_VERSION, entries };
        let Ok(bytes) = postcard::to_stdvec(&stored) else { return };
        if let Some(directory) = path.parent() {
            let _ = std::fs::create_dir_all(directory);
        }
        // Write then rename, so that a concurrent reader never sees half a file.
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&temporary, bytes).is_ok() {
            let _ = std::fs::rename(&temporary, path);
        }
    }
}
