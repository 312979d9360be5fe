//! Which build of the PWA serves a page. The tablet's build holds the field
//! pages and the record page without the desk panels, so its first download
//! stays small; head office's build holds every page. The server picks the
//! build by path, and the tablet's build hands a head-office path over to
//! the server.

/// The two builds of the PWA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// Capture, the device's list, the record page (`/records/<id>`) and
    /// sign-in: `/index.html`.
    Field,
    /// Every page, with everything under `/office` and `/admin`:
    /// `/office/index.html`.
    Office,
}

impl Bundle {
    /// The build that serves `path` (the URL's path, without query).
    pub fn serving(path: &str) -> Self {
        let under = |root: &str| {
            path.strip_prefix(root)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/office") || under("/admin") {
            Self::Office
        } else {
            Self::Field
        }
    }

    /// Where the build's `index.html` is served.
    pub fn index_path(self) -> &'static str {
        match self {
            Self::Field => "/index.html",
            Self::Office => "/office/index.html",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desk_pages_come_from_the_office_build_and_the_rest_from_the_tablets() {
        let office = [
            "/office",
            "/office/",
            "/office/new",
            "/office/records/abc",
            "/admin/sla",
        ];
        for path in office {
            assert_eq!(Bundle::serving(path), Bundle::Office, "{path}");
        }
        for path in [
            "/",
            "/login",
            "/records/abc",
            "/administer",
            "/officer",
            "/x",
        ] {
            assert_eq!(Bundle::serving(path), Bundle::Field, "{path}");
        }
    }
}
