//! What a destination shows without the identity (issue 15, defect 4): neither the object
//! names nor the plaintext `index.json` name a table, so the size of each table cannot be read
//! off a listing. (Object sizes are visible; docs/backups.md says so.)

use crate::backup::Site;

#[tokio::test]
async fn object_names_and_the_index_name_no_table() {
    let (install, site) = Site::installed().await;
    let id = site.run(install.url());

    let source = install.db().await;
    let tables: Vec<String> = nyckel::store::dump::schema(&source)
        .await
        .expect("schema")
        .into_iter()
        .map(|t| t.name)
        .collect();
    source.close().await;
    assert!(tables.iter().any(|t| t == "users"), "{tables:?}");

    for dest in ["site-a", "site-b"] {
        let folder = install.path().join(dest).join("backups").join(&id);
        let names: Vec<String> = std::fs::read_dir(&folder)
            .expect("backup folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let index = std::fs::read_to_string(folder.join("index.json")).expect("index");
        for table in &tables {
            for name in &names {
                assert!(
                    !name.contains(table.as_str()),
                    "{dest}: object {name} names table {table}"
                );
            }
            assert!(
                !index.contains(table.as_str()),
                "{dest}: index.json names table {table}:\n{index}"
            );
        }
    }
}
