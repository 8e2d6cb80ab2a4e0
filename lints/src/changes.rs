//! `--changed-since REV`: the files a pull request touched, from git.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Why the changed files are unknown.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChangesError {
    #[error("cannot run git: {0}")]
    Spawn(#[from] std::io::Error),
    /// git ran and refused, for example because the revision does not exist.
    #[error("{stderr}")]
    Git { stderr: String },
}

/// Files changed since `revision` (committed, staged, unstaged, and new untracked files), as
/// paths relative to `workspace_root` with `/` separators.
pub(crate) fn changed_files(workspace_root: &Path, revision: &str) -> Result<BTreeSet<String>, ChangesError> {
    let git = |arguments: &[&str]| -> Result<String, ChangesError> {
        let output = Command::new("git").arg("-C").arg(workspace_root).args(arguments).output()?;
        if !output.status.success() {
            return Err(ChangesError::Git { stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned() });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let top_level = git(&["rev-parse", "--show-toplevel"])?;
    let top_level = Path::new(top_level.trim());
    let mut files = BTreeSet::new();
    let changed = git(&["diff", "--name-only", "--no-renames", revision, "--"])?;
    let untracked = git(&["ls-files", "--others", "--exclude-standard", "--full-name"])?;
    let root = std::fs::canonicalize(workspace_root).unwrap_or_else(|_| workspace_root.to_owned());
    let top = std::fs::canonicalize(top_level).unwrap_or_else(|_| top_level.to_owned());
    for line in changed.lines().chain(untracked.lines()).filter(|line| !line.is_empty()) {
        let absolute = top.join(line);
        if let Ok(relative) = absolute.strip_prefix(&root) {
            let relative: Vec<String> =
                relative.components().map(|component| component.as_os_str().to_string_lossy().into_owned()).collect();
            files.insert(relative.join("/"));
        }
    }
    Ok(files)
}
