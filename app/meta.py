"""Name, version and notices: the one place every target (wheel, bundle, installers) reads them from."""

APP_NAME = "Lectern"
APP_ID = "lectern"
ORG_NAME = "Lectern"
VERSION = "0.1.0"
DESCRIPTION = "Offline answers over long, confidential documents"
LICENSE = "AGPL-3.0-or-later"  # pymupdf is AGPL; see README "Licences"
HOMEPAGE = ""  # deliberately empty: the app links to nothing online
