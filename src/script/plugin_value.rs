//! Values between Rhai and a plugin's JSON: maps, arrays, strings, integers, floats, booleans
//! and `()` (JSON `null`) cross; anything else is an error that says where it was found.

use crate::plugin::ParamKind;
use rhai::{Array, Dynamic, Map};
use serde_json::{Number, Value};

/// How deep a value may nest before it is refused (a value that contains itself, through a
/// shared variable, would otherwise never end).
const MAX_DEPTH: usize = 128;

/// Whether a script value is of the kind a manifest declares for a parameter.
pub fn fits(kind: ParamKind, value: &Dynamic) -> bool {
    if value.is_shared() {
        return fits(kind, &value.flatten_clone());
    }
    match kind {
        ParamKind::String => value.is_string() || value.is_char(),
        ParamKind::Int => value.is_int(),
        ParamKind::Float => value.is_float() || value.is_int(),
        ParamKind::Bool => value.is_bool(),
        ParamKind::Array => value.is_array(),
        ParamKind::Map => value.is_map(),
        ParamKind::Any => true,
    }
}

/// A script value's kind as a plugin author would name it.
pub fn kind_of(value: &Dynamic) -> String {
    if value.is_shared() {
        return kind_of(&value.flatten_clone());
    }
    let kind = if value.is_unit() {
        "()"
    } else if value.is_string() || value.is_char() {
        "string"
    } else if value.is_int() {
        "int"
    } else if value.is_float() {
        "float"
    } else if value.is_bool() {
        "bool"
    } else if value.is_array() {
        "array"
    } else if value.is_map() {
        "map"
    } else {
        return value.type_name().to_string();
    };
    kind.to_string()
}

/// A script value as JSON, or why it has no JSON form: `at [2].name: a Fn …`.
pub fn to_json(value: &Dynamic) -> Result<Value, String> {
    to_json_at(value, 0).map_err(|(path, why)| {
        if path.is_empty() {
            why
        } else {
            format!("at {path}: {why}")
        }
    })
}

/// The error keeps the path to the bad value (`[2].name`), built on the way back up.
fn to_json_at(value: &Dynamic, depth: usize) -> Result<Value, (String, String)> {
    if depth > MAX_DEPTH {
        return Err((
            String::new(),
            format!("it nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    if value.is_shared() {
        return to_json_at(&value.flatten_clone(), depth);
    }
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(f) = value.as_float() {
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| {
            (
                String::new(),
                format!("the float {f} has no JSON form (only finite numbers do)"),
            )
        });
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
        return Ok(Value::String(s.to_string()));
    }
    if let Some(items) = value.read_lock::<Array>() {
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                to_json_at(item, depth + 1).map_err(|(path, why)| (format!("[{i}]{path}"), why))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if let Some(fields) = value.read_lock::<Map>() {
        let mut object = serde_json::Map::new();
        for (key, field) in fields.iter() {
            let json = to_json_at(field, depth + 1)
                .map_err(|(path, why)| (format!(".{key}{path}"), why))?;
            object.insert(key.to_string(), json);
        }
        return Ok(Value::Object(object));
    }
    Err((
        String::new(),
        format!(
            "a {} has no JSON form; plugins take maps, arrays, strings, numbers, booleans and ()",
            value.type_name()
        ),
    ))
}

/// A plugin's JSON as a script value. Whole numbers that fit an `i64` become integers, other
/// numbers floats.
pub fn from_json(value: Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => b.into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => s.into(),
        Value::Array(items) => Dynamic::from_array(items.into_iter().map(from_json).collect()),
        Value::Object(fields) => Dynamic::from_map(
            fields
                .into_iter()
                .map(|(k, v)| (k.into(), from_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_goes_there_and_back() {
        let json = serde_json::json!({
            "s": "text", "i": -3, "f": 1.5, "b": true, "n": null,
            "a": [1, "two", [3.25], {"k": false}], "m": {}
        });
        let value = from_json(json.clone());
        assert_eq!(to_json(&value).unwrap(), json);
    }

    #[test]
    fn names_the_place_of_a_value_without_json_form() {
        let mut inner = Map::new();
        inner.insert("f".into(), Dynamic::from(rhai::FnPtr::new("x").unwrap()));
        let array: Array = vec![Dynamic::from_int(1), Dynamic::from_map(inner)];
        let err = to_json(&Dynamic::from_array(array)).unwrap_err();
        assert!(err.starts_with("at [1].f: a Fn has no JSON form"), "{err}");
        let err = to_json(&Dynamic::from_float(f64::INFINITY)).unwrap_err();
        assert!(err.contains("only finite numbers"), "{err}");
    }

    #[test]
    fn floats_accept_integers() {
        assert!(fits(ParamKind::Float, &Dynamic::from_int(2)));
        assert!(!fits(ParamKind::Int, &Dynamic::from_float(2.0)));
        assert!(fits(ParamKind::String, &Dynamic::from('c')));
        assert_eq!(kind_of(&Dynamic::UNIT), "()");
    }
}
