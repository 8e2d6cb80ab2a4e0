//! The facts cache: what was extracted from each file, keyed by the file's content and its place
//! in the crate, so that a re-check parses only the files that changed.
//!
//! It lives under the workspace's `target/` directory (never in the source tree), is safe to
//! delete, and is ignored whole when it is corrupt or was written by another version of seams.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::extract::{FileContext, FileFacts};

/// Bumped whenever the shape or meaning of [`FileFacts`] changes.
const FORMAT_VERSION: u32 = 1;
const FILE_NAME: &str = "facts.bin";

/// A 128-bit key: two SipHash passes with different prefixes, over everything the facts depend on.
pub type CacheKey = (u64, u64);

/// The key of a file's facts: its text and every input of [`crate::extract::analyse_source`].
pub fn key(context: &FileContext<'_>, text: &str) -> CacheKey {
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
        context.root_extern_aliases.hash(&mut hasher);
        hasher.finish()
    };
    (hash_with(0x5eab_5eab), hash_with(0xfac7_5ca7))
}

/// Facts by key: what the last run left, and what this run used.
#[derive(Debug, Default)]
pub struct FactsCache {
    previous: HashMap<CacheKey, FileFacts>,
    used: Mutex<HashMap<CacheKey, FileFacts>>,
    /// Files whose facts came from the cache, and files that were parsed, in this run.
    hits: Mutex<(usize, usize)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    seams_version: String,
    format_version: u32,
    entries: Vec<(CacheKey, FileFacts)>,
}

impl FactsCache {
    /// The cache file under a target directory.
    pub fn path(target_directory: &Path) -> PathBuf {
        target_directory.join("seams-cache").join(FILE_NAME)
    }

    /// Loads the cache; anything unreadable, corrupt or from another version gives an empty one.
    pub fn load(path: &Path) -> FactsCache {
        let previous = std::fs::read(path)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<Stored>(&bytes).ok())
            .filter(|stored| {
                stored.seams_version == env!("CARGO_PKG_VERSION") && stored.format_version == FORMAT_VERSION
            })
            .map(|stored| stored.entries.into_iter().collect())
            .unwrap_or_default();
        FactsCache { previous, ..FactsCache::default() }
    }

    /// An empty cache kept in memory (watch mode carries one from run to run).
    pub fn in_memory() -> FactsCache {
        FactsCache::default()
    }

    /// The facts for a key, when a previous run extracted them.
    pub fn get(&self, key: &CacheKey) -> Option<FileFacts> {
        let found = self.previous.get(key).cloned();
        let mut hits = self.hits.lock().unwrap_or_else(|poison| poison.into_inner());
        if found.is_some() {
            hits.0 += 1
        } else {
            hits.1 += 1
        }
        found
    }

    /// Records the facts this run used, for the next run.
    pub fn put(&self, key: CacheKey, facts: &FileFacts) {
        self.used.lock().unwrap_or_else(|poison| poison.into_inner()).insert(key, facts.clone());
    }

    /// `(files from the cache, files parsed)` in this run.
    pub fn hit_counts(&self) -> (usize, usize) {
        *self.hits.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Turns this run's facts into the next run's cache, in memory.
    pub fn roll_over(&mut self) {
        let used = std::mem::take(self.used.get_mut().unwrap_or_else(|poison| poison.into_inner()));
        self.previous = used;
        *self.hits.get_mut().unwrap_or_else(|poison| poison.into_inner()) = (0, 0);
    }

    /// Writes this run's facts (only those used, so the file never grows stale entries). A
    /// failure to write is not an error: the next run is merely cold.
    pub fn save(&self, path: &Path) {
        let used = self.used.lock().unwrap_or_else(|poison| poison.into_inner());
        let mut entries: Vec<(CacheKey, FileFacts)> = used.iter().map(|(key, facts)| (*key, facts.clone())).collect();
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
