//! The incremental engine: it keeps the facts of every file between checks, so that a re-check
//! parses only the files whose text or place changed, and it checks an editor's unsaved buffers
//! in place of the files on disk. Watch mode re-checks through it on every save; a one-shot check
//! is an engine used once, with its cache on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::parse::{Buffers, FactsCache, ParseCounts};
use crate::timings::{self, Stage};
use crate::workspace::Workspace;

use super::outcome::{CheckError, CheckOptions, CheckOutcome};
use super::pipeline::check_workspace;

/// Where the engine keeps facts between checks.
#[derive(Debug)]
enum Memory {
    /// Nothing is kept: every check parses every file.
    None,
    /// Facts are kept in memory only.
    Resident(FactsCache),
    /// Facts are kept in memory and in the facts cache under the workspace's target directory,
    /// which is loaded on the first check and written after each one that changed it.
    OnDisk { cache: Option<FactsCache>, path: Option<PathBuf> },
}

/// Runs checks one after another, re-using what earlier checks parsed.
#[derive(Debug)]
pub struct Engine {
    options: CheckOptions,
    memory: Memory,
    buffers: Buffers,
    last_counts: ParseCounts,
    /// The workspace as the last check read it, re-used by the next checks when the caller knows
    /// that no manifest changed (the language server, until a `Cargo.toml` is saved): reading it
    /// runs `cargo metadata`, a third of a warm check.
    kept_workspace: Option<Workspace>,
    keep_workspace: bool,
}

impl Engine {
    /// An engine whose checks use the facts cache on disk when `options.use_cache` is set, and
    /// parse every file otherwise.
    pub fn new(options: CheckOptions) -> Engine {
        let memory = if options.use_cache { Memory::OnDisk { cache: None, path: None } } else { Memory::None };
        Engine {
            options,
            memory,
            buffers: Buffers::default(),
            last_counts: ParseCounts::default(),
            kept_workspace: None,
            keep_workspace: false,
        }
    }

    /// An engine that keeps facts in memory only, whatever `options.use_cache` says: watch mode's.
    pub(crate) fn in_memory(options: CheckOptions) -> Engine {
        Engine {
            options,
            memory: Memory::Resident(FactsCache::default()),
            buffers: Buffers::default(),
            last_counts: ParseCounts::default(),
            kept_workspace: None,
            keep_workspace: false,
        }
    }

    /// Re-uses the workspace's metadata from one check to the next, until
    /// [`Engine::reload_workspace`]: for callers that are told when a manifest changes.
    pub(crate) fn keep_workspace(&mut self) {
        self.keep_workspace = true;
    }

    /// Reads the workspace's metadata again at the next check (a `Cargo.toml` changed).
    pub(crate) fn reload_workspace(&mut self) {
        self.kept_workspace = None;
    }

    /// Checks `path` (absolute, as Cargo reports the workspace's files) with `text` in place of
    /// what is on disk, until [`Engine::remove_buffer`]: an editor's unsaved buffer.
    pub fn set_buffer(&mut self, path: PathBuf, text: String) {
        self.buffers.set(path, text);
    }

    /// Checks what is on disk at `path` again.
    pub fn remove_buffer(&mut self, path: &Path) {
        self.buffers.remove(path);
    }

    /// What the engine checks.
    pub(crate) fn options(&self) -> &CheckOptions {
        &self.options
    }

    /// How many files the last check parsed, and how many it took from what earlier checks kept.
    pub fn parse_counts(&self) -> ParseCounts {
        self.last_counts
    }

    /// Loads the workspace and runs every stage, parsing only the files that changed.
    pub fn check(&mut self) -> Result<CheckOutcome, CheckError> {
        self.check_with(None)
    }

    /// Checks with `config_text` in place of the `boundaries.toml` on disk: `--init` checks the
    /// configurations it drafts before it writes one.
    pub(crate) fn check_with_config_text(&mut self, config_text: &str) -> Result<CheckOutcome, CheckError> {
        self.check_with(Some(config_text))
    }

    fn check_with(&mut self, config_text: Option<&str>) -> Result<CheckOutcome, CheckError> {
        let started = Instant::now();
        let workspace = match &self.kept_workspace {
            Some(workspace) => workspace.clone(),
            None => timings::time(Stage::Workspace, || Workspace::load_from(self.options.manifest_path()))?,
        };
        if self.keep_workspace {
            self.kept_workspace = Some(workspace.clone());
        }
        if let Memory::OnDisk { cache, path } = &mut self.memory
            && cache.is_none()
        {
            let cache_path = FactsCache::path(&workspace.target_directory);
            *cache = Some(timings::time(Stage::CacheLoad, || FactsCache::load(&cache_path)));
            *path = Some(cache_path);
        }
        let cache = match &self.memory {
            Memory::None => None,
            Memory::Resident(cache) => Some(cache),
            Memory::OnDisk { cache, .. } => cache.as_ref(),
        };
        let result = check_workspace(&self.options, config_text, workspace, cache, &self.buffers, started);
        self.last_counts = cache.map(FactsCache::counts).unwrap_or_default();
        let Ok(outcome) = &result else {
            return result;
        };
        // The cache becomes exactly the facts this check used, shared with its model.
        let entries =
            || outcome.model.files.iter().filter_map(|file| file.cache_key.map(|key| (key, Arc::clone(&file.facts))));
        match &mut self.memory {
            Memory::None => {}
            Memory::Resident(cache) => {
                cache.replace(entries());
            }
            Memory::OnDisk { cache: Some(cache), path: Some(path) } => {
                let changed = cache.replace(entries());
                if changed || !path.is_file() {
                    timings::time(Stage::CacheSave, || cache.save(path));
                }
            }
            Memory::OnDisk { .. } => {}
        }
        result
    }
}
