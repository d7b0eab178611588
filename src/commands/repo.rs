//! `rchart repo add|list|update|remove|index` and `rchart search repo`.

use std::io::Read;

use anyhow::Context;

use crate::action::dependency::rfc3339;
use crate::action::package::source_date_epoch;
use crate::action::repo::{self, IndexOptions};
use crate::cli::{RepoAddArgs, RepoCommand, SearchCommand};
use crate::repo::{RepoPaths, Repository};

use super::output::print_table;
use super::report::StderrReporter;
use super::{Outcome, block_on};

pub fn run(command: RepoCommand) -> anyhow::Result<Outcome> {
    match command {
        RepoCommand::Add(args) => {
            let paths = RepoPaths::from_env()?;
            let force = args.force_update;
            let repository = repository(args)?;
            block_on(repo::add(&paths, repository, force, &StderrReporter))?;
        }
        RepoCommand::List => {
            let repositories = repo::list(&RepoPaths::from_env()?)?;
            if repositories.is_empty() {
                eprintln!("no repositories; add one with `rchart repo add NAME URL`");
            } else {
                let rows: Vec<Vec<String>> = repositories
                    .into_iter()
                    .map(|r| vec![r.name, crate::http::redact(&r.url)])
                    .collect();
                print_table(&["NAME", "URL"], &rows)?;
            }
        }
        RepoCommand::Update(args) => {
            let paths = RepoPaths::from_env()?;
            block_on(repo::update(&paths, &args.names, &StderrReporter))?;
        }
        RepoCommand::Remove(args) => {
            repo::remove(&RepoPaths::from_env()?, &args.names, &StderrReporter)?;
        }
        RepoCommand::Index(args) => {
            let now = match source_date_epoch()? {
                Some(epoch) => rfc3339(epoch),
                None => humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            };
            let (path, count) = repo::index(&IndexOptions {
                dir: &args.dir,
                url: args.url.as_deref(),
                merge: args.merge.as_deref(),
                now,
            })?;
            outln!("wrote {} ({count} chart archives)", path.display());
        }
    }
    Ok(Outcome::Success)
}

fn repository(args: RepoAddArgs) -> anyhow::Result<Repository> {
    let password = if args.password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .context("reading the password from stdin")?;
        text.trim_end_matches(['\n', '\r']).to_string()
    } else {
        String::new()
    };
    if !password.is_empty() && args.username.is_none() {
        anyhow::bail!("--password-stdin needs --username");
    }
    let ca_file = match args.ca_file {
        // Kept absolute: the file is read from any directory later
        Some(path) => std::path::absolute(&path)
            .with_context(|| format!("--ca-file {}", path.display()))?
            .display()
            .to_string(),
        None => String::new(),
    };
    Ok(Repository {
        name: args.name,
        url: args.url,
        username: args.username.unwrap_or_default(),
        password,
        ca_file,
        insecure_skip_tls_verify: args.insecure_skip_tls_verify,
        pass_credentials_all: args.pass_credentials,
    })
}

pub fn search(command: SearchCommand) -> anyhow::Result<Outcome> {
    let SearchCommand::Repo(args) = command;
    let found = repo::search(
        &RepoPaths::from_env()?,
        &args.keyword,
        args.version.as_deref(),
        args.versions,
    )?;
    if found.is_empty() {
        eprintln!("no results found");
        return Ok(Outcome::Success);
    }
    let rows: Vec<Vec<String>> = found
        .into_iter()
        .map(|f| {
            vec![
                f.name,
                f.version.version.to_string(),
                f.version.app_version.unwrap_or_default(),
                f.version.description.unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"],
        &rows,
    )?;
    Ok(Outcome::Success)
}
