//! Script errors rendered for humans: `file:line:col`, the source line, and a caret.

use rhai::{EvalAltResult, ParseError, Position};
use std::collections::BTreeMap;
use std::fmt;

/// One error at one place in one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub source_line: Option<String>,
    /// Where the error came through (imports, function calls), outermost first.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn at(
        message: impl Into<String>,
        file: &str,
        pos: Position,
        sources: &BTreeMap<String, String>,
    ) -> Self {
        let line = pos.line();
        Diagnostic {
            message: message.into(),
            file: file.to_string(),
            line,
            column: pos.position(),
            source_line: line
                .and_then(|l| sources.get(file)?.lines().nth(l - 1).map(str::to_string)),
            notes: Vec::new(),
        }
    }

    pub fn from_parse(err: &ParseError, file: &str, sources: &BTreeMap<String, String>) -> Self {
        Diagnostic::at(err.err_type().to_string(), file, err.position(), sources)
    }

    /// Follows an evaluation error through imports and function calls to where it happened.
    pub fn from_eval(
        err: &EvalAltResult,
        main_file: &str,
        sources: &BTreeMap<String, String>,
    ) -> Self {
        let mut file = main_file.to_string();
        let mut notes = Vec::new();
        let mut current = err;
        loop {
            match current {
                EvalAltResult::ErrorInModule(module, inner, pos) => {
                    notes.push(format!(
                        "in module {module}, imported at {}",
                        place(&file, *pos)
                    ));
                    file = module.clone();
                    current = inner;
                }
                EvalAltResult::ErrorInFunctionCall(name, source, inner, pos) => {
                    notes.push(format!(
                        "in function `{name}`, called at {}",
                        place(&file, *pos)
                    ));
                    if !source.is_empty() {
                        file = source.clone();
                    }
                    current = inner;
                }
                other => {
                    let pos = other.position();
                    let message = match other {
                        EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
                        EvalAltResult::ErrorTerminated(..) => "interrupted".to_string(),
                        EvalAltResult::ErrorDataTooLarge(what, _) => too_large(what),
                        EvalAltResult::ErrorTooManyOperations(_) => {
                            "the script ran more operations than allowed (a runaway loop?); \
                             --max-operations N allows more"
                                .to_string()
                        }
                        EvalAltResult::ErrorStackOverflow(_) => {
                            "functions called each other too deeply (endless recursion?)"
                                .to_string()
                        }
                        EvalAltResult::ErrorParsing(kind, _) => kind.to_string(),
                        e => {
                            let text = e.to_string();
                            match text.rfind(" (line ") {
                                Some(at) if !pos.is_none() => text[..at].to_string(),
                                _ => text,
                            }
                        }
                    };
                    let mut d = Diagnostic::at(message, &file, pos, sources);
                    d.notes = notes;
                    return d;
                }
            }
        }
    }

    /// `file:line:col`, as far as known.
    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        }
    }
}

/// "Length of string" → which value grew past which limit, and the flag that raises it.
fn too_large(what: &str) -> String {
    let kind = ["string", "array", "map"]
        .into_iter()
        .find(|k| what.to_lowercase().contains(k));
    match kind.and_then(|k| Some((k, limit_flag(k)?))) {
        Some((kind, flag)) => format!(
            "{} {kind} grew past the size a script may use (a runaway loop?); {flag} N allows more",
            if kind == "array" { "an" } else { "a" }
        ),
        None => format!("{what} is larger than a script may use"),
    }
}

/// The `brrt run` flag that raises each size limit (the operations limit's is in the message).
fn limit_flag(what: &str) -> Option<&'static str> {
    Some(match what {
        "string" => "--max-string-size",
        "array" => "--max-array-size",
        "map" => "--max-map-size",
        _ => return None,
    })
}

fn place(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        _ => file.to_string(),
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}", self.location())?;
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            crate::ops::write_source_line(f, line, self.column, text)?;
        }
        for note in &self.notes {
            write!(f, "\n  = note: {note}")?;
        }
        Ok(())
    }
}
