//! `recfuse export-profile`: the fusion settings and rules of a session (or the defaults) as a
//! RecFuse profile, a Spark SQL query, an OpenSearch search pipeline or a Vespa rank profile;
//! see [`crate::session::profile`].

use std::path::PathBuf;

use clap::Args;

use crate::session::Session;
use crate::session::batch::check_output;
use crate::session::profile::{Profile, ProfileFormat, render};

/// Arguments of `recfuse export-profile`.
#[derive(Debug, Args)]
pub(crate) struct ExportProfileArgs {
    /// Session file whose settings to export (default: the default settings, without rules).
    #[arg(long, value_name = "FILE", conflicts_with = "profile")]
    pub session: Option<PathBuf>,
    /// A JSON fusion profile to export in another format (`eval --tune --save-profile`
    /// writes one).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// json, spark-sql, opensearch or vespa.
    #[arg(long, value_parser = parse_format)]
    pub format: ProfileFormat,
    /// The file to write (replaced atomically; never the session file).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Merchandising rules (JSON array) instead of the session's.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// List length the exported query ranks to (default: the session's list length).
    #[arg(long)]
    pub top: Option<usize>,
}

fn parse_format(text: &str) -> Result<ProfileFormat, String> {
    ProfileFormat::from_id(text.trim()).ok_or_else(|| {
        let ids: Vec<&str> = ProfileFormat::ALL.iter().map(|f| f.id()).collect();
        format!("unknown profile format '{text}'; expected one of {}", ids.join(", "))
    })
}

/// Runs `recfuse export-profile`.
pub(crate) fn run(args: &ExportProfileArgs) -> anyhow::Result<u8> {
    let mut session = match &args.session {
        Some(p) => Session::load(p)?,
        // The defaults of `recommend`: no rules (the sample rules belong to the sample session).
        None => Session { rules: Vec::new(), ..Session::default() },
    };
    if let Some(p) = &args.profile {
        Profile::load(p)?.apply_to(&mut session);
    }
    if let Some(p) = &args.rules {
        session.rules = crate::fusion::load_rules(p).map_err(anyhow::Error::msg)?;
    }
    if let Some(k) = args.top {
        crate::limits::check_count("--top", k, 1, crate::limits::MAX_K)?;
        session.selection.k = k;
    }
    let inputs: Vec<&std::path::Path> =
        args.session.iter().chain(&args.profile).chain(&args.rules).map(PathBuf::as_path).collect();
    check_output(&args.out, &inputs)?;
    let text = render(&Profile::from_session(&session), args.format);
    crate::session::write_atomic(&args.out, text.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.out.display()))?;
    eprintln!("wrote the {} profile to {}", args.format.id(), args.out.display());
    Ok(0)
}
