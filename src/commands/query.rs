//! history, status, list and get.

use crate::action::query::WhenLatestIsDamaged::{Refuse, ShowNewestReadable};
use crate::action::query::{self, RevisionSummary};
use crate::cli::{GetCommand, GlobalArgs, HistoryArgs, ListArgs, OutputFormat, StatusArgs};
use crate::project::Workspace;
use crate::release::ReleaseRecord;
use crate::render::parse_multi_document;

use super::output::{print_structured, print_table};
use super::{Outcome, block_on, environment, open_list_session, open_release_session};

pub fn history(global: &GlobalArgs, args: HistoryArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let name = workspace.release_name(args.name.as_deref(), None)?;
    block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        let view = query::history(&session, &name).await?;
        if !print_structured(args.output, &view.revisions)? {
            let rows = view
                .revisions
                .iter()
                .map(|r| {
                    vec![
                        r.revision.to_string(),
                        r.updated.clone(),
                        r.status.to_string(),
                        r.chart.clone(),
                        r.app_version.clone(),
                        r.description.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            print_table(
                &[
                    "REVISION",
                    "UPDATED",
                    "STATUS",
                    "CHART",
                    "APP VERSION",
                    "DESCRIPTION",
                ],
                &rows,
            )?;
        }
        Ok(Outcome::Success)
    })
}

pub fn list(global: &GlobalArgs, args: ListArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let selection = environment(global, &workspace, &[])?;
    block_on(async {
        let session = open_list_session(global, &workspace, selection, args.all_namespaces).await?;
        let view = query::list(&session, args.all_namespaces, args.all).await?;
        if !print_structured(args.output, &view.revisions)? {
            let rows = view.revisions.iter().map(list_row).collect::<Vec<_>>();
            print_table(
                &[
                    "NAME",
                    "NAMESPACE",
                    "REVISION",
                    "UPDATED",
                    "STATUS",
                    "CHART",
                    "APP VERSION",
                ],
                &rows,
            )?;
        }
        Ok(Outcome::Success)
    })
}

fn list_row(r: &RevisionSummary) -> Vec<String> {
    vec![
        r.name.clone(),
        r.namespace.clone(),
        r.revision.to_string(),
        r.updated.clone(),
        r.status.to_string(),
        r.chart.clone(),
        r.app_version.clone(),
    ]
}

pub fn status(global: &GlobalArgs, args: StatusArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let name = workspace.release_name(args.name.as_deref(), None)?;
    block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        let record = query::revision(&session, &name, args.revision, ShowNewestReadable).await?;
        let view = query::status_view(&record);
        if !print_structured(args.output, &view)? {
            outln!("NAME: {}", view.summary.name);
            outln!("NAMESPACE: {}", view.summary.namespace);
            outln!("REVISION: {}", view.summary.revision);
            outln!("STATUS: {}", view.summary.status);
            outln!("FIRST DEPLOYED: {}", view.first_deployed);
            outln!("LAST DEPLOYED: {}", view.summary.updated);
            if let Some(deleted) = &view.deleted {
                outln!("DELETED: {deleted}");
            }
            outln!("CHART: {} ({})", view.summary.chart, view.chart_digest);
            if let Some(origin) = &view.chart_origin {
                outln!(
                    "CHART SOURCE: {}@{}",
                    origin.reference,
                    origin.manifest_digest
                );
            }
            outln!("APP VERSION: {}", view.summary.app_version);
            outln!("DESCRIPTION: {}", view.summary.description);
            outln!("RESOURCES:");
            for id in &view.resources {
                outln!("  {id}");
            }
            if !view.hooks.is_empty() {
                outln!("HOOKS:");
                for hook in &view.hooks {
                    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
                    outln!(
                        "  {} ({}): {}",
                        hook.resource,
                        events.join(", "),
                        hook.run_summary()
                    );
                }
            }
            if !view.tests.is_empty() {
                outln!("TESTS:");
                for test in &view.tests {
                    outln!("  {}: {}", test.resource, test.run_summary());
                }
            }
            if let Some(notes) = &view.notes {
                outln!("\nNOTES:\n{notes}");
            }
        }
        Ok(Outcome::Success)
    })
}

pub fn get(global: &GlobalArgs, command: GetCommand) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let name = match &command {
        GetCommand::Values(args) => &args.get.name,
        GetCommand::Manifest(args) | GetCommand::Notes(args) | GetCommand::Hooks(args) => {
            &args.name
        }
    };
    let name = workspace.release_name(name.as_deref(), None)?;
    block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        match command {
            GetCommand::Values(args) => {
                let record = query::revision(&session, &name, args.get.revision, Refuse).await?;
                let values = if args.all {
                    &record.merged_values
                } else {
                    &record.user_values
                };
                match args.get.output {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(values)?),
                    OutputFormat::Yaml | OutputFormat::Table => {
                        if !values.is_empty() {
                            outln!(
                                "{}",
                                crate::yaml::to_yaml(values).map_err(anyhow::Error::msg)?
                            );
                        }
                    }
                }
            }
            GetCommand::Manifest(args) => {
                let record = query::revision(&session, &name, args.revision, Refuse).await?;
                match args.output {
                    OutputFormat::Json => {
                        let objects = parse_multi_document(&record.chart.name, &record.manifest)?
                            .iter()
                            .map(|m| m.object())
                            .collect::<Result<Vec<_>, _>>()?;
                        outln!("{}", serde_json::to_string_pretty(&objects)?);
                    }
                    OutputFormat::Yaml | OutputFormat::Table => out!("{}", record.manifest),
                }
            }
            GetCommand::Hooks(args) => {
                let record = query::revision(&session, &name, args.revision, Refuse).await?;
                print_hooks(&record, args.output)?;
            }
            GetCommand::Notes(args) => {
                let record = query::revision(&session, &name, args.revision, Refuse).await?;
                let notes = record.notes.unwrap_or_default();
                match args.output {
                    OutputFormat::Json => outln!("{}", serde_json::json!({ "notes": notes })),
                    OutputFormat::Yaml | OutputFormat::Table => outln!("{notes}"),
                }
            }
        }
        Ok(Outcome::Success)
    })
}

/// `rchart get hooks`: a table of the hooks and how each last ran; their manifests with
/// `-o yaml`, as `helm get hooks` prints them; everything with `-o json`.
fn print_hooks(record: &ReleaseRecord, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&record.hooks)?),
        OutputFormat::Yaml => {
            for hook in &record.hooks {
                out!(
                    "---\n# Source: {}/{}\n{}\n",
                    record.chart.name,
                    hook.source,
                    hook.manifest
                );
            }
        }
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = record
                .hooks
                .iter()
                .map(|hook| {
                    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
                    let policies: Vec<&str> =
                        hook.delete_policies.iter().map(|p| p.as_str()).collect();
                    let run = hook.last_run.as_ref();
                    vec![
                        hook.resource.to_string(),
                        events.join(","),
                        hook.weight.to_string(),
                        if policies.is_empty() {
                            "before-hook-creation".to_string()
                        } else {
                            policies.join(",")
                        },
                        run.map_or_else(|| "not run".to_string(), |r| r.phase.to_string()),
                        run.map(|r| r.started.to_string()).unwrap_or_default(),
                        run.and_then(|r| r.completed.as_ref())
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        run.and_then(|r| r.message.clone()).unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "HOOK",
                    "EVENTS",
                    "WEIGHT",
                    "DELETE POLICY",
                    "PHASE",
                    "STARTED",
                    "COMPLETED",
                    "MESSAGE",
                ],
                &rows,
            )?;
        }
    }
    Ok(())
}
