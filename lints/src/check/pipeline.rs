//! The pipeline, in its one direction: workspace → configuration → parse → model → rules →
//! baseline. Each stage reads only what the stages before it produced.

use std::time::Instant;

use crate::allows::apply_allows;
use crate::baseline::{Baseline, locate};
use crate::config::Config;
use crate::model::{Model, resolve_modules};
use crate::parse::{Buffers, FactsCache, ParseInput, parse_workspace};
use crate::rules::{apply_severity, run_all};
use crate::timings::{self, Stage};
use crate::workspace::Workspace;

use super::outcome::{CheckError, CheckOptions, CheckOutcome};

/// Runs every stage after `cargo metadata` on a loaded workspace, with `config_text` in place of
/// the configuration file when it is given. `started` is when the check began, for the outcome's
/// run time.
pub(crate) fn check_workspace(
    options: &CheckOptions,
    config_text: Option<&str>,
    workspace: Workspace,
    cache: Option<&FactsCache>,
    buffers: &Buffers,
    started: Instant,
) -> Result<CheckOutcome, CheckError> {
    let (config, modules) = timings::time(Stage::Config, || -> Result<_, CheckError> {
        let path = options.config_path(&workspace.root);
        let config = match config_text {
            Some(text) => Config::parse(&path, text.to_owned())?,
            None => Config::load(&path)?,
        };
        let modules = resolve_modules(&workspace, &config)?;
        Ok((config, modules))
    })?;
    let input = ParseInput { workspace: &workspace, include_tests: config.defaults.include_tests, cache, buffers };
    let parsed = timings::time(Stage::ParsePhase, || parse_workspace(input));
    let model = timings::time(Stage::Model, || Model::build(workspace, config, modules, parsed))?;
    let (mut violations, suppressed) = timings::time(Stage::Rules, || {
        let allowed = apply_allows(&model, run_all(&model));
        let mut violations = allowed.violations;
        if !allowed.unused.is_empty() {
            let mut unused = allowed.unused;
            apply_severity(&model.config, &mut unused);
            violations.extend(unused);
            violations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        }
        (violations, allowed.suppressed)
    });
    let baseline_started = Instant::now();
    let mut unusable_baseline = None;
    let located = locate(&model.config, &model.workspace.root).and_then(|path| match path {
        Some(path) => {
            let relative = model.workspace.relative_path(&path);
            Baseline::load(&path, relative).map(Some)
        }
        None => Ok(None),
    });
    let baseline = match located {
        Ok(baseline) => baseline,
        Err(error) if options.rebuild_baseline => {
            unusable_baseline = Some(error);
            None
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(baseline) = &baseline {
        let mut stale = baseline.apply(&mut violations);
        apply_severity(&model.config, &mut stale);
        violations.extend(stale);
        violations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }
    timings::add(Stage::Baseline, baseline_started.elapsed());
    Ok(CheckOutcome {
        model,
        violations,
        suppressed,
        baseline,
        unusable_baseline,
        scope: None,
        elapsed: started.elapsed(),
    })
}
