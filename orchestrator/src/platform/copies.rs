//! Cross.toml and cross/size.toml are read by `cross` and cargo, which
//! cannot see the target table; these tests keep them in step with it.

use super::target::{cross_targets, SIZE_CONFIG};

fn workspace_file(rel: &str) -> toml::Table {
    let path = crate::build::default_workspace().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn cross_toml_names_every_cross_target_with_its_image_and_build_std() {
    let cross = workspace_file("Cross.toml");
    let targets = cross["target"].as_table().expect("[target.TRIPLE] tables");
    let table: Vec<&str> = cross_targets().map(|t| t.triple).collect();
    let mut listed: Vec<&str> = targets.keys().map(String::as_str).collect();
    let mut expected = table.clone();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected, "Cross.toml's targets");
    for spec in cross_targets() {
        let entry = &targets[spec.triple];
        assert_eq!(
            entry.get("image").and_then(|v| v.as_str()),
            Some(format!("lwm/cross-{}:latest", spec.triple).as_str()),
            "{}",
            spec.triple
        );
        assert_eq!(
            entry
                .get("build-std")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            spec.build_std,
            "Cross.toml build-std of {}",
            spec.triple
        );
        let recipe = crate::build::default_workspace()
            .join("docker")
            .join(format!("cross-{}", spec.triple));
        assert!(recipe.is_dir(), "{} has no image recipe", spec.triple);
    }
}

/// The cross builds' size settings are the host build's: both keep the
/// preload library within the same budget.
#[test]
fn the_size_config_matches_the_workspace_release_profile() {
    let size = workspace_file(SIZE_CONFIG);
    let workspace = workspace_file("Cargo.toml");
    let packages = |t: &toml::Table| t["profile"]["release"]["package"].clone();
    assert_eq!(packages(&size), packages(&workspace));
}
