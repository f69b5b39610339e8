//! The `.xml` variants of GeoReport v2: the JSON answer written as XML, hand-rolled because
//! the shapes are flat (a root, repeated items, scalar children, a few nested lists) and
//! escaping five characters is all it takes.

use serde_json::Value;

/// Escapes text and attribute content.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// The element name of an item of a list named `list`: `services` → `service`, otherwise
/// the list's name without its plural `s`.
fn item_name(list: &str) -> &str {
    list.strip_suffix('s').unwrap_or(list)
}

fn element(name: &str, value: &Value, out: &mut String) {
    match value {
        // GeoReport writes a missing value as an empty element.
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Array(items) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for item in items {
                element(item_name(name), item, out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Object(fields) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in fields {
                element(k, v, out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::String(s) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape(s, out);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        other => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape(&other.to_string(), out);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// `value` (a JSON answer) as an XML document whose root element is `root`; the items of a
/// top-level array are `item` elements.
pub fn document(root: &str, item: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    match value {
        Value::Array(items) => {
            out.push('<');
            out.push_str(root);
            out.push('>');
            for v in items {
                element(item, v, &mut out);
            }
            out.push_str("</");
            out.push_str(root);
            out.push('>');
        }
        other => element(root, other, &mut out),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_markup_and_names_items() {
        let v = json!([{ "code": 400, "description": "a <b> & \"c\"", "x": null }]);
        assert_eq!(
            document("errors", "error", &v),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>400</code>\
             <description>a &lt;b&gt; &amp; &quot;c&quot;</description><x/></error></errors>"
        );
    }

    #[test]
    fn nested_lists_use_the_singular() {
        let v = json!({ "endpoints": [{ "formats": ["text/xml"] }] });
        assert_eq!(
            document("discovery", "", &v),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><discovery><endpoints><endpoint>\
             <formats><format>text/xml</format></formats></endpoint></endpoints></discovery>"
        );
    }
}
