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
use crate::model::Model;

/// Bumped whenever the shape or meaning of [`FileFacts`] changes.
const FORMAT_VERSION: u32 = 2;
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
        context.test_extern_prelude.hash(&mut hasher);
        context.root_extern_aliases.hash(&mut hasher);
        hasher.finish()
    };
    (hash_with(0x5eab_5eab), hash_with(0xfac7_5ca7))
}

/// Facts by key, as the last run left them, and what this run took from them.
///
/// A hit moves the facts out of the cache into the model, and [`FactsCache::save`] writes them
/// back from the model: facts are never copied, which on a warm check of a large workspace was
/// most of the time spent.
#[derive(Debug, Default)]
pub struct FactsCache {
    previous: Mutex<HashMap<CacheKey, FileFacts>>,
    /// How many entries were loaded, to tell an unchanged cache from a changed one.
    loaded: usize,
    /// Files whose facts came from the cache, and files that were parsed, in this run.
    hits: Mutex<(usize, usize)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<Entries> {
    seams_version: String,
    format_version: u32,
    entries: Entries,
}

impl FactsCache {
    /// The cache file under a target directory.
    pub fn path(target_directory: &Path) -> PathBuf {
        target_directory.join("seams-cache").join(FILE_NAME)
    }

    /// Loads the cache; anything unreadable, corrupt or from another version gives an empty one.
    pub fn load(path: &Path) -> FactsCache {
        let previous: HashMap<CacheKey, FileFacts> = std::fs::read(path)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<Stored<Vec<(CacheKey, FileFacts)>>>(&bytes).ok())
            .filter(|stored| {
                stored.seams_version == env!("CARGO_PKG_VERSION") && stored.format_version == FORMAT_VERSION
            })
            .map(|stored| stored.entries.into_iter().collect())
            .unwrap_or_default();
        FactsCache { loaded: previous.len(), previous: Mutex::new(previous), ..FactsCache::default() }
    }

    /// An empty cache kept in memory (watch mode carries one from run to run).
    pub fn in_memory() -> FactsCache {
        FactsCache::default()
    }

    /// Takes the facts for a key, when a previous run extracted them.
    pub fn take(&self, key: &CacheKey) -> Option<FileFacts> {
        let found = self.previous.lock().unwrap_or_else(|poison| poison.into_inner()).remove(key);
        let mut hits = self.hits.lock().unwrap_or_else(|poison| poison.into_inner());
        if found.is_some() {
            hits.0 += 1
        } else {
            hits.1 += 1
        }
        found
    }

    /// `(files from the cache, files parsed)` in this run.
    pub fn hit_counts(&self) -> (usize, usize) {
        *self.hits.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Makes a model's facts the next run's cache, in memory, moving them out of the model, which
    /// the caller is done with. Without a model (the run failed), the cache keeps what this run
    /// did not take.
    pub fn roll_over(&mut self, model: Option<Model>) {
        if let Some(model) = model {
            let entries: HashMap<CacheKey, FileFacts> =
                model.files.into_iter().filter_map(|file| file.cache_key.map(|key| (key, file.facts))).collect();
            self.loaded = entries.len();
            self.previous = Mutex::new(entries);
        }
        self.hits = Mutex::new((0, 0));
    }

    /// Writes the facts of a model's files (only those, so the file never grows stale entries).
    /// When every file came from the cache and none was dropped, the file on disk is already
    /// right and is left alone. A failure to write is not an error: the next run is merely cold.
    pub fn save(&self, path: &Path, model: &Model) {
        let (from_cache, parsed) = self.hit_counts();
        if parsed == 0 && from_cache == self.loaded && path.is_file() {
            return;
        }
        let mut entries: Vec<(CacheKey, &FileFacts)> = cached_entries(model).collect();
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

/// The files of a model that have a cache key, with their facts.
fn cached_entries(model: &Model) -> impl Iterator<Item = (CacheKey, &FileFacts)> {
    model.files.iter().filter_map(|file| file.cache_key.map(|key| (key, &file.facts)))
}
