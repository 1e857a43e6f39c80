//! Changes to the managed rules: create, replace, delete, enable and disable.
//!
//! A posted YAML text is checked by the loaders of `weft rules check` (Sigma, sequences, SQL):
//! every document must load and carry an id; one rule per text, or a correlation or sequence
//! together with the rules it uses. It is then staged under the data directory and loaded
//! with every other rule of the deployment, so correlations that cannot run together are
//! refused before anything changes. The file lands in `<data_dir>/rules/<id>.yml` by a
//! rename: `weft run` sees the old rules or the new ones, never half a file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use weft_correlate::correlation::sequence::load_sequence_paths;
use weft_correlate::ruleset::{DetectionRules, RulesError, read_disabled, write_disabled};
use weft_correlate::schedule::sql_rule::parse_sql_rules;
use weft_correlate::sigma::load_texts;
use weft_correlate::sigma::loader::rule_files;

use super::{Catalogue, RuleSources, internal, is_file_safe_id};
use crate::error::ApiError;

/// Rule changes are made one at a time (check, stage, rename).
static CHANGES: Mutex<()> = Mutex::new(());

/// What a posted text holds, once checked on its own.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The id the file is named for: the correlation or sequence, or the only rule.
    pub primary: String,
    /// Every id and name the text defines.
    pub names: BTreeSet<String>,
}

/// Checks `text` on its own, as `weft rules check` would, staged as `posted.yml` in `stage`.
pub fn check_text(sources: &RuleSources, text: &str, stage: &Path) -> Result<Candidate, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "`yaml` is empty: give one rule document".to_string(),
        ));
    }
    let posted = stage.join("posted.yml");
    std::fs::write(&posted, text).map_err(|error| internal("staging a rule", error))?;
    let placeholders = sources.placeholders()?;
    let loaded = load_sequence_paths(std::slice::from_ref(&posted));
    if let Some((_, document, reason)) = loaded.errors.first() {
        return Err(ApiError::BadRequest(format!(
            "document {}: sequence refused: {reason}",
            document + 1
        )));
    }
    let sequences = loaded.rules;
    let sql = parse_sql_rules(text, &posted);
    if let Some(error) = sql.errors.first() {
        return Err(ApiError::BadRequest(format!("refused: {}", error.kind)));
    }
    let sigma = load_texts(&[(Some(posted.clone()), text.to_string())], &placeholders);
    // The Sigma loader's verdict on a sequence document is not about a Sigma rule.
    let sigma_error = sigma.errors.iter().find(|error| {
        !loaded
            .documents
            .iter()
            .any(|(_, document)| *document == error.origin.document)
    });
    if let Some(error) = sigma_error {
        return Err(ApiError::BadRequest(format!("refused: {}", error.kind)));
    }
    if !sigma.filters.is_empty() {
        return Err(ApiError::BadRequest(
            "filter documents are not managed through the API: put them in a configured rule path"
                .to_string(),
        ));
    }
    let mut metas = Vec::new();
    let mut composite = None;
    for plan in &sigma.rules {
        metas.push((
            plan.meta.id.clone(),
            plan.meta.name.clone(),
            plan.meta.title.clone(),
        ));
    }
    for rule in &sigma.correlations {
        composite.get_or_insert(rule.meta.id.clone());
        metas.push((
            rule.meta.id.clone(),
            rule.meta.name.clone(),
            rule.meta.title.clone(),
        ));
    }
    for rule in &sequences {
        composite.get_or_insert(rule.meta.id.clone());
        metas.push((
            rule.meta.id.clone(),
            rule.meta.name.clone(),
            rule.meta.title.clone(),
        ));
    }
    for rule in &sql.rules {
        metas.push((Some(rule.id.clone()), None, rule.meta.title.clone()));
    }
    if metas.is_empty() {
        return Err(ApiError::BadRequest(
            "the text holds no rule document: give a Sigma rule, correlation, sequence or SQL rule"
                .to_string(),
        ));
    }
    if metas.len() > 1 && composite.is_none() {
        return Err(ApiError::BadRequest(format!(
            "the text holds {} rules: post one rule at a time, or a correlation with the rules it uses",
            metas.len()
        )));
    }
    let mut names = BTreeSet::new();
    for (id, name, title) in &metas {
        let Some(id) = id else {
            return Err(ApiError::BadRequest(format!(
                "rule `{title}` has no `id`: rules managed through the API need one"
            )));
        };
        if !is_file_safe_id(id) {
            return Err(ApiError::BadRequest(format!(
                "rule id `{id}` must be 1 to 128 letters, digits, `-`, `_` or `.`"
            )));
        }
        if !names.insert(id.clone()) {
            return Err(ApiError::BadRequest(format!(
                "rule id `{id}` is given twice"
            )));
        }
        names.extend(name.clone());
    }
    let primary = match composite {
        Some(Some(id)) => id,
        _ => metas[0].0.clone().unwrap_or_default(),
    };
    Ok(Candidate { primary, names })
}

/// The managed files, but `except`.
fn managed_files(sources: &RuleSources, except: Option<&Path>) -> Vec<PathBuf> {
    let managed = sources.managed_dir();
    if !managed.is_dir() {
        return Vec::new();
    }
    rule_files(&managed)
        .unwrap_or_default()
        .into_iter()
        .filter(|file| Some(file.as_path()) != except)
        .collect()
}

/// A staging directory under the data directory (same filesystem: the final rename is atomic).
pub(crate) fn staging(sources: &RuleSources) -> Result<tempfile::TempDir, ApiError> {
    tempfile::Builder::new()
        .prefix(".rules-staging-")
        .tempdir_in(&sources.data_dir)
        .map_err(|error| internal("staging directory", error))
}

/// Loads `candidate` with every other rule (the configured paths and the managed files but
/// `replacing`): refused when it cannot run with them. Returns the staged file.
fn check_together(
    sources: &RuleSources,
    candidate: &Candidate,
    replacing: Option<&Path>,
    stage: &Path,
) -> Result<PathBuf, ApiError> {
    let staged = stage.join(format!("{}.yml", candidate.primary));
    std::fs::rename(stage.join("posted.yml"), &staged)
        .map_err(|error| internal("staging a rule", error))?;
    let mut paths = sources.configured.clone();
    paths.extend(managed_files(sources, replacing));
    paths.push(staged.clone());
    let placeholders = sources.placeholders.as_deref();
    match DetectionRules::load(&paths, &sources.mapping, placeholders) {
        Ok(rules) => {
            let staged_text = staged.display().to_string();
            if let Some(warning) = rules
                .warnings
                .iter()
                .find(|warning| warning.contains(&staged_text))
            {
                let reason = warning.replace(&staged_text, "the posted rule");
                return Err(ApiError::BadRequest(format!("refused: {reason}")));
            }
            Ok(staged)
        }
        Err(RulesError::Correlation(error)) => Err(ApiError::BadRequest(format!(
            "the rule cannot run together with the existing rules: {error}"
        ))),
        Err(error) => Err(internal("loading the rules", error)),
    }
}

/// Creates a managed rule from `text`; returns its id.
pub fn create(
    sources: &RuleSources,
    catalogue: &Catalogue,
    text: &str,
) -> Result<String, ApiError> {
    let _change = CHANGES.lock().unwrap_or_else(PoisonError::into_inner);
    let stage = staging(sources)?;
    let candidate = check_text(sources, text, stage.path())?;
    let taken = catalogue.names();
    if let Some(name) = candidate
        .names
        .iter()
        .find(|name| taken.contains(name.as_str()))
    {
        return Err(ApiError::Conflict(format!(
            "a rule with id or name `{name}` exists: replace it with PUT /api/v1/rules/{name}"
        )));
    }
    let target = sources
        .managed_dir()
        .join(format!("{}.yml", candidate.primary));
    if target.exists() {
        return Err(ApiError::Conflict(format!(
            "{} exists: replace it with PUT /api/v1/rules/{}",
            target.display(),
            candidate.primary
        )));
    }
    install(sources, &candidate, None, &target, stage.path())?;
    Ok(candidate.primary)
}

/// Replaces the managed rule `id` with `text` (which must keep the id).
pub fn update(
    sources: &RuleSources,
    catalogue: &Catalogue,
    id: &str,
    text: &str,
) -> Result<String, ApiError> {
    let _change = CHANGES.lock().unwrap_or_else(PoisonError::into_inner);
    let existing = managed_rule(sources, catalogue, id)?;
    let path = existing.file.clone();
    let stage = staging(sources)?;
    let candidate = check_text(sources, text, stage.path())?;
    if !candidate.names.contains(&existing.id) {
        return Err(ApiError::BadRequest(format!(
            "the posted text does not define rule `{}`: keep its id",
            existing.id
        )));
    }
    // Ids the replaced file defines may be reused; any other must be free.
    let replaced: BTreeSet<&str> = catalogue
        .rules
        .iter()
        .filter(|rule| rule.file == existing.file)
        .flat_map(|rule| std::iter::once(rule.id.as_str()).chain(rule.name.as_deref()))
        .collect();
    let taken = catalogue.names();
    if let Some(name) = candidate
        .names
        .iter()
        .find(|name| taken.contains(name.as_str()) && !replaced.contains(name.as_str()))
    {
        return Err(ApiError::Conflict(format!(
            "a rule with id or name `{name}` exists"
        )));
    }
    install(sources, &candidate, Some(&path), &path, stage.path())?;
    Ok(existing.id.clone())
}

fn install(
    sources: &RuleSources,
    candidate: &Candidate,
    replacing: Option<&Path>,
    target: &Path,
    stage: &Path,
) -> Result<(), ApiError> {
    let staged = check_together(sources, candidate, replacing, stage)?;
    let managed = sources.managed_dir();
    std::fs::create_dir_all(&managed).map_err(|error| internal("rules directory", error))?;
    std::fs::File::open(&staged)
        .and_then(|file| file.sync_all())
        .map_err(|error| internal("syncing a rule", error))?;
    std::fs::rename(&staged, target).map_err(|error| internal("installing a rule", error))?;
    tracing::info!(path = %target.display(), "rule installed");
    Ok(())
}

/// The managed rule `id`: 404 when unknown, 409 when it comes from a configured path.
fn managed_rule<'c>(
    sources: &RuleSources,
    catalogue: &'c Catalogue,
    id: &str,
) -> Result<&'c super::RuleEntry, ApiError> {
    let Some(rule) = catalogue.find(id) else {
        return Err(ApiError::NoSuchResource(format!(
            "no rule has the id `{id}`"
        )));
    };
    if rule.source != "managed" {
        return Err(ApiError::Conflict(format!(
            "rule `{id}` comes from the configured rule path {} and is read-only through the API; change the file, or disable the rule",
            rule.path
        )));
    }
    let path = rule.file.as_path();
    if !path.starts_with(sources.managed_dir()) {
        return Err(internal("managed rule path", rule.path.clone()));
    }
    Ok(rule)
}

/// Deletes the managed rule `id` (its whole file) and forgets that it was disabled.
pub fn delete(sources: &RuleSources, catalogue: &Catalogue, id: &str) -> Result<(), ApiError> {
    let _change = CHANGES.lock().unwrap_or_else(PoisonError::into_inner);
    let rule = managed_rule(sources, catalogue, id)?;
    std::fs::remove_file(&rule.file).map_err(|error| internal("deleting a rule", error))?;
    let mut disabled =
        read_disabled(&sources.data_dir).map_err(|error| internal("disabled rules", error))?;
    if disabled.remove(&rule.id) {
        write_disabled(&sources.data_dir, &disabled)
            .map_err(|error| internal("disabled rules", error))?;
    }
    tracing::info!(rule = %rule.id, "rule deleted");
    Ok(())
}

/// Enables or disables the rule `id` (configured or managed); returns its id.
pub fn set_enabled(
    sources: &RuleSources,
    catalogue: &Catalogue,
    id: &str,
    enabled: bool,
) -> Result<String, ApiError> {
    let _change = CHANGES.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(rule) = catalogue.find(id) else {
        return Err(ApiError::NoSuchResource(format!(
            "no rule has the id `{id}`"
        )));
    };
    let mut disabled =
        read_disabled(&sources.data_dir).map_err(|error| internal("disabled rules", error))?;
    let changed = if enabled {
        let by_id = disabled.remove(&rule.id);
        let by_name = rule.name.as_ref().is_some_and(|name| disabled.remove(name));
        by_id || by_name
    } else {
        disabled.insert(rule.id.clone())
    };
    if changed {
        write_disabled(&sources.data_dir, &disabled)
            .map_err(|error| internal("disabled rules", error))?;
    }
    Ok(rule.id.clone())
}
