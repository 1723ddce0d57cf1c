//! Variables for rendering a svc.yml: env files (`KEY=VALUE` lines) and
//! `KEY=VALUE` pairs, as the `plinth` and `plinth-testkit` commands take them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why the variables could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvFileError {
    /// The file could not be read.
    #[error("cannot read env file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `KEY=VALUE`.
    #[error("{path}:{line}: expected KEY=VALUE, found {text:?}")]
    BadLine {
        /// The file (or `--env`).
        path: String,
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
}

/// Parses env-file text into `env`: `KEY=VALUE` per line, the value verbatim
/// to the end of the line; blank lines and `#` comments are skipped.
pub fn parse_env_text(
    text: &str,
    origin: &str,
    env: &mut BTreeMap<String, String>,
) -> Result<(), EnvFileError> {
    for (i, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                env.insert(key.trim().to_owned(), value.to_owned());
            }
            _ => {
                return Err(EnvFileError::BadLine {
                    path: origin.to_owned(),
                    line: i + 1,
                    text: line.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Reads env files in order, then applies `KEY=VALUE` pairs (which win).
pub fn load_env(
    files: &[PathBuf],
    pairs: &[String],
) -> Result<BTreeMap<String, String>, EnvFileError> {
    let mut env = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| EnvFileError::Read {
            path: path.clone(),
            source,
        })?;
        parse_env_text(&text, &display(path), &mut env)?;
    }
    for (i, pair) in pairs.iter().enumerate() {
        parse_env_text(pair, &format!("--env #{}", i + 1), &mut env)?;
    }
    Ok(env)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_verbatim_and_pairs_win() {
        let mut env = BTreeMap::new();
        parse_env_text("# c\n\nA=x = y \nB=\r\n", "f", &mut env).unwrap();
        assert_eq!(env["A"], "x = y ");
        assert_eq!(env["B"], "");
        let env = load_env(&[], &["A=1".into(), "A=2".into()]).unwrap();
        assert_eq!(env["A"], "2");
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let mut env = BTreeMap::new();
        let err = parse_env_text("A=1\nnope\n", "svc.env", &mut env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "svc.env:2: expected KEY=VALUE, found \"nope\""
        );
        assert!(load_env(&[PathBuf::from("/no/such/file")], &[]).is_err());
    }
}
