; Lectern's per-user Windows installer (Inno Setup 6). No administrator rights needed:
; it installs under %LOCALAPPDATA%\Programs\Lectern and writes only to HKCU.
; Built by .github/workflows/installers.yml after packaging/build.py:
;   iscc /DAppVersion=0.1.0 /DBundleDir=packaging\dist\lectern /DStageDir=packaging\build\stage
;        /DOutputDir=packaging\dist packaging\windows\lectern.iss
; AppVersion comes from app/meta.py (the workflow reads it there); nothing is repeated here.

#ifndef AppVersion
  #error Pass /DAppVersion=... (app.meta.VERSION)
#endif
#ifndef BundleDir
  #define BundleDir "..\dist\lectern"
#endif
#ifndef StageDir
  #define StageDir "..\build\stage"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist"
#endif
#define AppName "Lectern"
#define AppExe "Lectern.exe"
; The windowed executable; lectern-cli.exe next to it is the same program for terminals.
#define ProgId "Lectern.PDF"

[Setup]
; A fixed AppId lets later versions upgrade this installation in place.
AppId={{B4B7A75B-A3DD-5632-98C1-8AB24FB698FC}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=lectern-{#AppVersion}-windows-x64-setup
SetupIconFile={#StageDir}\lectern.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; "Open with > Lectern" for PDF files. Lectern is offered, never made the default
; PDF handler. HKA is HKCU for a per-user install.
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueData: "PDF document"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueData: """{app}\{#AppExe}"",0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueData: """{app}\{#AppExe}"" gui ""%1"""
Root: HKA; Subkey: "Software\Classes\.pdf\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".pdf"; ValueData: ""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueData: """{app}\{#AppExe}"" gui ""%1"""

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
// The library, runs and settings live in %LOCALAPPDATA%\lectern (platformdirs' user
// data folder for "lectern"). They are the user's: kept unless the box is ticked.
var
  RemoveUserData: Boolean;

function UserDataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\lectern');
end;

// A small dialog before anything is removed: the tick box is unticked by default.
function InitializeUninstall(): Boolean;
var
  Form: TSetupForm;
  Note: TNewStaticText;
  Box: TNewCheckBox;
  OkButton, CancelButton: TNewButton;
begin
  Result := True;
  RemoveUserData := False;
  if UninstallSilent() or not DirExists(UserDataDir()) then
    exit;
  Form := CreateCustomForm();
  try
    Form.Caption := 'Uninstall {#AppName}';
    Form.ClientWidth := ScaleX(440);
    Form.ClientHeight := ScaleY(150);
    Note := TNewStaticText.Create(Form);
    Note.Parent := Form;
    Note.Left := ScaleX(16);
    Note.Top := ScaleY(16);
    Note.Width := Form.ClientWidth - ScaleX(32);
    Note.Height := ScaleY(44);
    Note.AutoSize := False;
    Note.WordWrap := True;
    Note.Caption := '{#AppName} will be removed. Your library, answers and settings in ' +
      UserDataDir() + ' stay on this computer unless you tick the box.';
    Box := TNewCheckBox.Create(Form);
    Box.Parent := Form;
    Box.Left := ScaleX(16);
    Box.Top := ScaleY(70);
    Box.Width := Form.ClientWidth - ScaleX(32);
    Box.Height := ScaleY(20);
    Box.Caption := 'Also delete my library, answers and settings';
    Box.Checked := False;
    OkButton := TNewButton.Create(Form);
    OkButton.Parent := Form;
    OkButton.Caption := 'Uninstall';
    OkButton.ModalResult := mrOk;
    OkButton.Default := True;
    OkButton.Width := ScaleX(88);
    OkButton.Height := ScaleY(25);
    OkButton.Top := Form.ClientHeight - ScaleY(41);
    OkButton.Left := Form.ClientWidth - ScaleX(200);
    CancelButton := TNewButton.Create(Form);
    CancelButton.Parent := Form;
    CancelButton.Caption := SetupMessage(msgButtonCancel);
    CancelButton.ModalResult := mrCancel;
    CancelButton.Cancel := True;
    CancelButton.Width := ScaleX(88);
    CancelButton.Height := ScaleY(25);
    CancelButton.Top := OkButton.Top;
    CancelButton.Left := Form.ClientWidth - ScaleX(104);
    Result := Form.ShowModal() = mrOk;
    RemoveUserData := Result and Box.Checked;
  finally
    Form.Free();
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and RemoveUserData then
    DelTree(UserDataDir(), True, True, True);
end;
