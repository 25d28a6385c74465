//! Content-Type of a served file: from its name's extension first, else sniffed from its first
//! bytes (the signatures of the WHATWG MIME sniffing standard that Go's `DetectContentType` uses).

/// Bytes worth of content to sniff.
pub const SNIFF_LEN: usize = 512;

/// The type the name's extension says, if it is a known one.
pub fn from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" | "text" => "text/plain; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "text/xml; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/vnd.microsoft.icon",
        "bmp" => "image/bmp",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "car" => "application/vnd.ipld.car",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "ogv" => "video/ogg",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        _ => return None,
    })
}

const HTML_TAGS: [&[u8]; 17] = [
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
    b"<!--",
];

/// The type the first bytes say (at most [`SNIFF_LEN`] are looked at).
pub fn sniff(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let ws = data
        .iter()
        .position(|&c| !matches!(c, b'\t' | b'\n' | 0x0c | b'\r' | b' '))
        .unwrap_or(data.len());
    let text = &data[ws..];
    for tag in HTML_TAGS {
        if text.len() > tag.len()
            && text[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(text[tag.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if text.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if text.starts_with(b"<svg") {
        return "image/svg+xml";
    }
    let sigs: [(&[u8], &'static str); 16] = [
        (b"%PDF-", "application/pdf"),
        (b"%!PS-Adobe-", "application/postscript"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"BM", "image/bmp"),
        (b"\x00\x00\x01\x00", "image/x-icon"),
        (b"\x00asm", "application/wasm"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b\x08", "application/x-gzip"),
        (b"\x1a\x45\xdf\xa3", "video/webm"),
        (b"OggS\x00", "application/ogg"),
        (b"ID3", "audio/mpeg"),
        (b"wOFF", "font/woff"),
        (b"wOF2", "font/woff2"),
    ];
    for (sig, ty) in sigs {
        if data.starts_with(sig) {
            return ty;
        }
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return "image/webp";
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WAVE" {
        return "audio/wave";
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        return "video/mp4";
    }
    if data.starts_with(b"\xef\xbb\xbf")
        || data.starts_with(b"\xfe\xff")
        || data.starts_with(b"\xff\xfe")
    {
        return "text/plain; charset=utf-8";
    }
    let binary = data.iter().any(|&c| {
        c <= 0x08 || c == 0x0b || (0x0e..=0x1a).contains(&c) || (0x1c..=0x1f).contains(&c)
    });
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

/// The Content-Type of a file named `name` starting with `head`.
pub fn content_type(name: Option<&str>, head: &[u8]) -> &'static str {
    name.and_then(from_name).unwrap_or_else(|| sniff(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_then_bytes() {
        assert_eq!(content_type(Some("index.html"), b""), "text/html; charset=utf-8");
        assert_eq!(content_type(Some("a.SVG"), b""), "image/svg+xml");
        assert_eq!(content_type(None, b"  <!doctype html><p>"), "text/html; charset=utf-8");
        assert_eq!(content_type(Some("noext"), b"\x89PNG\r\n\x1a\nxxxx"), "image/png");
        assert_eq!(content_type(None, b"hello\n"), "text/plain; charset=utf-8");
        assert_eq!(content_type(None, &[0, 1, 2, 3]), "application/octet-stream");
    }
}
