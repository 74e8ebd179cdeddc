"""Readable labels for the Graph properties of Intune objects, as the admin center words them.

Compliance policies, device configurations, app protection, update rings and the other
property-bag types name their settings by Graph property (``passwordMinimumLength``); the
admin center shows "Minimum password length". ``property_label(name)`` answers the curated
label when there is one (``PROPERTY_LABELS``: the common properties, worded as in the admin
center), otherwise ``humanize(name)``: the camelCase name split into words, with the acronyms
and product names of the field spelled as usual (``osMinimumVersion`` -> "OS minimum version").

``ACTION_TYPE_LABELS`` names the actions for noncompliance (``scheduledActionConfigurations``
elements, addressed by ``actionType``). ``value_label(name, value)`` reads a property's value
as the admin center does: Graph's enum members of the common properties (``VALUE_LABELS``:
app protection data transfer, clipboard, save-as locations, browser, PIN type, Wi-Fi security
type, device threat levels...), and any ISO-8601 duration (``PT12H`` -> "12 hours",
``duration_label``); a value it does not know is returned as it is. No Django here.
"""

from __future__ import annotations

import re
from typing import Any, Final

#: Graph property -> the admin center's words for it.
PROPERTY_LABELS: Final[dict[str, str]] = {
    # ---- common to every object ----
    "displayName": "Name",
    "name": "Name",
    "description": "Description",
    "roleScopeTagIds": "Scope tags",
    "platforms": "Platform",
    "technologies": "Technologies",
    "@odata.type": "Graph type",
    "policyConfigurationIngestionType": "Ingestion type",
    "templateReference": "Template",
    "templateDisplayName": "Template name",
    "templateDisplayVersion": "Template version",
    "templateFamily": "Template family",
    "templateId": "Template ID",
    # ---- compliance policies: password / device security ----
    "passwordRequired": "Require a password to unlock mobile devices",
    "passwordBlockSimple": "Simple passwords",
    "passwordMinimumLength": "Minimum password length",
    "passwordRequiredType": "Password type",
    "passwordMinutesOfInactivityBeforeLock": (
        "Maximum minutes of inactivity before password is required"
    ),
    "passwordExpirationDays": "Password expiration (days)",
    "passwordPreviousPasswordBlockCount": "Number of previous passwords to prevent reuse",
    "passwordMinimumCharacterSetCount": "Minimum number of character sets",
    "passwordRequiredToUnlockFromIdle": "Require password when device returns from idle state",
    "passwordMinutesOfInactivityBeforeScreenTimeout": (
        "Maximum minutes of inactivity until screen locks"
    ),
    "passwordSignInFailureCountBeforeFactoryReset": (
        "Number of sign-in failures before wiping device"
    ),
    "passcodeRequired": "Require a password to unlock mobile devices",
    "passcodeBlockSimple": "Simple passwords",
    "passcodeMinimumLength": "Minimum password length",
    "passcodeRequiredType": "Required password type",
    "passcodeMinimumCharacterSetCount": "Number of non-alphanumeric characters in password",
    "passcodeMinutesOfInactivityBeforeLock": (
        "Maximum minutes after screen lock before password is required"
    ),
    "passcodeMinutesOfInactivityBeforeScreenTimeout": (
        "Maximum minutes of inactivity until screen locks"
    ),
    "passcodeExpirationDays": "Password expiration (days)",
    "passcodePreviousPasscodeBlockCount": "Number of previous passwords to prevent reuse",
    "requiredPasswordComplexity": "Password complexity",
    "storageRequireEncryption": "Require encryption of data storage on device",
    "bitLockerEnabled": "Require BitLocker",
    "secureBootEnabled": "Require Secure Boot to be enabled on the device",
    "codeIntegrityEnabled": "Require code integrity",
    "earlyLaunchAntiMalwareDriverEnabled": "Require Early Launch Anti-Malware driver",
    "tpmRequired": "Trusted Platform Module (TPM)",
    "activeFirewallRequired": "Firewall",
    "antivirusRequired": "Antivirus",
    "antiSpywareRequired": "Antispyware",
    "defenderEnabled": "Microsoft Defender Antimalware",
    "defenderVersion": "Microsoft Defender Antimalware minimum version",
    "signatureOutOfDate": "Microsoft Defender Antimalware security intelligence up-to-date",
    "rtpEnabled": "Real-time protection",
    "deviceThreatProtectionEnabled": "Require the device to be at or under the Device Threat Level",
    "deviceThreatProtectionRequiredSecurityLevel": "Device Threat Level",
    "configurationManagerComplianceRequired": (
        "Require device compliance from Configuration Manager"
    ),
    "osMinimumVersion": "Minimum OS version",
    "osMaximumVersion": "Maximum OS version",
    "mobileOsMinimumVersion": "Minimum OS version for mobile devices",
    "mobileOsMaximumVersion": "Maximum OS version for mobile devices",
    "osMinimumBuildVersion": "Minimum OS build version",
    "osMaximumBuildVersion": "Maximum OS build version",
    "validOperatingSystemBuildRanges": "Valid operating system builds",
    "minAndroidSecurityPatchLevel": "Minimum security patch level",
    "securityBlockJailbrokenDevices": "Jailbroken or rooted devices",
    "securityPreventInstallAppsFromUnknownSources": "Block apps from unknown sources",
    "securityRequireVerifyApps": "Require threat scan on apps",
    "securityRequireCompanyPortalAppIntegrity": "Company Portal app runtime integrity",
    "securityDisableUsbDebugging": "Block USB debugging on device",
    "managedEmailProfileRequired": "Require a managed email profile",
    "restrictedApps": "Restricted apps",
    "systemIntegrityProtectionEnabled": "Require system integrity protection",
    "firewallEnabled": "Firewall",
    "firewallBlockAllIncoming": "Incoming connections",
    "firewallEnableStealthMode": "Stealth Mode",
    "gatekeeperAllowedAppSource": "Allow apps downloaded from these locations",
    "deviceCompliancePolicyScript": "Custom compliance",
    "requireHealthyDeviceReport": "Require healthy device report",
    "firmwareProtectionEnabled": "Firmware protection",
    "kernelDmaProtectionEnabled": "Kernel DMA protection",
    "memoryIntegrityEnabled": "Memory integrity",
    "virtualizationBasedSecurityEnabled": "Virtualization-based security",
    "advancedThreatProtectionRequiredSecurityLevel": (
        "Require the device to be at or under the machine risk score"
    ),
    "passwordRequiredComplexity": "Password complexity",
    "securityRequireGooglePlayServices": "Google Play Services is configured",
    "securityRequireUpToDateSecurityProviders": "Up-to-date security provider",
    "securityRequireSafetyNetAttestationBasicIntegrity": "Play Integrity Verdict: basic integrity",
    "securityRequireSafetyNetAttestationCertifiedDevice": (
        "Play Integrity Verdict: basic integrity and certified devices"
    ),
    "securityRequiredAndroidSafetyNetEvaluationType": "Play Integrity evaluation type",
    "workProfileRequirePassword": "Require a password to unlock work profile",
    "workProfilePasswordRequiredType": "Work profile password type",
    "workProfileInactiveBeforeScreenLockInMinutes": (
        "Maximum minutes of inactivity before work profile locks"
    ),
    "workProfilePasswordMinimumLength": "Work profile minimum password length",
    "scheduledActionsForRule": "Actions for noncompliance",
    "scheduledActionConfigurations": "Actions",
    "actionType": "Action",
    "gracePeriodHours": "Schedule (hours after noncompliance)",
    "notificationTemplateId": "Message template",
    "notificationMessageCCList": "Additional recipients (via email)",
    "ruleName": "Rule",
    # ---- device restrictions / configuration profiles ----
    "cameraBlocked": "Camera (blocked)",
    "screenCaptureBlocked": "Screen capture (blocked)",
    "bluetoothBlocked": "Bluetooth (blocked)",
    "storageBlockRemovableStorage": "Removable storage (blocked)",
    "usbBlocked": "USB connection (blocked)",
    "cortanaBlocked": "Cortana (blocked)",
    "defenderRequireRealTimeMonitoring": "Real-time monitoring",
    "defenderRequireBehaviorMonitoring": "Behavior monitoring",
    "defenderRequireCloudProtection": "Cloud-delivered protection",
    "defenderRequireNetworkInspectionSystem": "Network inspection system",
    "defenderScanArchiveFiles": "Scan archive files",
    "smartScreenEnableAppInstallControl": "SmartScreen app install control",
    "iCloudBlockBackup": "iCloud backup (blocked)",
    "iCloudBlockDocumentSync": "iCloud Document and Data sync (blocked)",
    "appStoreBlocked": "App store (blocked)",
    "safariBlockAutofill": "Safari AutoFill (blocked)",
    "airDropBlocked": "AirDrop (blocked)",
    "siriBlocked": "Siri (blocked)",
    "omaSettings": "OMA-URI settings",
    "omaUri": "OMA-URI",
    "isEncrypted": "Encrypted",
    "value": "Value",
    "customSettings": "Custom settings",
    "payloadFileName": "Configuration profile file name",
    "payload": "Configuration profile file",
    "deploymentChannel": "Deployment channel",
    "wiFiSecurityType": "Security type",
    "ssid": "SSID",
    "connectAutomatically": "Connect automatically",
    "connectWhenNetworkNameIsHidden": "Connect when the network is not broadcasting its name",
    # ---- Windows update rings and update profiles ----
    "qualityUpdatesDeferralPeriodInDays": "Quality update deferral period (days)",
    "featureUpdatesDeferralPeriodInDays": "Feature update deferral period (days)",
    "qualityUpdatesPaused": "Quality updates paused",
    "featureUpdatesPaused": "Feature updates paused",
    "microsoftUpdateServiceAllowed": "Microsoft product updates",
    "driversExcluded": "Windows drivers excluded",
    "automaticUpdateMode": "Automatic update behavior",
    "businessReadyUpdatesOnly": "Servicing channel",
    "deadlineForFeatureUpdatesInDays": "Deadline for feature updates (days)",
    "deadlineForQualityUpdatesInDays": "Deadline for quality updates (days)",
    "deadlineGracePeriodInDays": "Grace period (days)",
    "postponeRebootUntilAfterDeadline": "Postpone restart until after the deadline",
    "userPauseAccess": "Option to pause Windows updates",
    "userWindowsUpdateScanAccess": "Option to check for Windows updates",
    "updateNotificationLevel": "Change notification update level",
    "allowWindows11Upgrade": "Upgrade Windows 10 devices to Latest Windows 11 release",
    "featureUpdatesRollbackWindowInDays": "Set feature update uninstall period (in days)",
    "autoRestartNotificationDismissal": "Auto restart notification dismissal",
    "engagedRestartDeadlineInDays": "Engaged restart deadline (days)",
    "engagedRestartSnoozeScheduleInDays": "Engaged restart snooze (days)",
    "qualityUpdatesRollbackStartDateTime": "Quality updates rollback start",
    "featureUpdatesPauseExpiryDateTime": "Feature updates pause expiry",
    "qualityUpdatesPauseExpiryDateTime": "Quality updates pause expiry",
    "activeHoursStart": "Active hours start",
    "activeHoursEnd": "Active hours end",
    "deliveryOptimizationMode": "Delivery optimization download mode",
    "prereleaseFeatures": "Enable pre-release builds",
    "featureUpdateVersion": "Feature update to deploy",
    "rolloutSettings": "Rollout options",
    "offerStartDateTimeInUTC": "First group availability",
    "offerEndDateTimeInUTC": "Final group availability",
    "offerIntervalInDays": "Days between groups",
    "installLatestWindows10OnWindows11IneligibleDevice": (
        "When a device isn't capable of running Windows 11, install the latest Windows 10 "
        "feature update"
    ),
    # ---- app protection ----
    "pinRequired": "PIN for access",
    "minimumPinLength": "Select minimum PIN length",
    "simplePinBlocked": "Simple PIN (blocked)",
    "pinCharacterSet": "PIN type",
    "maximumPinRetries": "Max PIN attempts",
    "periodBeforePinReset": "PIN reset after number of days",
    "fingerprintBlocked": "Fingerprint instead of PIN for access (blocked)",
    "disableAppPinIfDevicePinIsSet": "App PIN when device PIN is set (disabled)",
    "organizationalCredentialsRequired": "Work or school account credentials for access",
    "periodOfflineBeforeAccessCheck": "Offline grace period (before access is blocked)",
    "periodOfflineBeforeWipeIsEnforced": "Offline grace period (before data is wiped)",
    "periodOnlineBeforeAccessCheck": "Recheck the access requirements after (minutes of inactivity)",
    "dataBackupBlocked": "Backup org data (blocked)",
    "allowedInboundDataTransferSources": "Receive data from other apps",
    "allowedOutboundDataTransferDestinations": "Send org data to other apps",
    "allowedOutboundClipboardSharingLevel": "Restrict cut, copy, and paste between other apps",
    "allowedDataStorageLocations": "Allow user to save copies to selected services",
    "saveAsBlocked": "Save copies of org data (blocked)",
    "printBlocked": "Printing org data (blocked)",
    "contactSyncBlocked": "Sync policy managed app data with native apps (blocked)",
    "managedBrowser": "Restrict web content transfer with other apps",
    "managedBrowserToOpenLinksRequired": "Open links in a managed browser",
    "appDataEncryptionType": "Encrypt org data",
    "encryptAppData": "Encrypt org data",
    "deviceComplianceRequired": "Jailbroken/rooted devices (blocked)",
    "minimumRequiredOsVersion": "Min OS version",
    "minimumWarningOsVersion": "Min OS version (warning)",
    "minimumRequiredAppVersion": "Min app version",
    "minimumWarningAppVersion": "Min app version (warning)",
    "minimumRequiredSdkVersion": "Min SDK version",
    "minimumRequiredPatchVersion": "Min patch version",
    "maximumAllowedDeviceThreatLevel": "Max allowed device threat level",
    "mobileThreatDefenseRemediationAction": "Action when the device threat level is exceeded",
    "notificationRestriction": "Org data notifications",
    "dialerRestrictionLevel": "Transfer telecommunication data to",
    "blockDataIngestionIntoOrganizationDocuments": "Open data into org documents (blocked)",
    "thirdPartyKeyboardsBlocked": "Third party keyboards (blocked)",
    # Android: the switch "Approved keyboards" (Require / Not required) and its list
    "keyboardsRestricted": "Approved keyboards",
    "approvedKeyboards": "Select keyboards to approve",
    "apps": "Apps",
    "appGroupType": "Target policy to",
    "targetedAppManagementLevels": "Targeted app management levels",
    "isAssigned": "Assigned",
    # ---- scripts and apps ----
    "scriptContent": "Script",
    "detectionScriptContent": "Detection script",
    "remediationScriptContent": "Remediation script",
    "runAsAccount": "Run this script using the logged on credentials",
    "installExperience.runAsAccount": "Install behavior",
    "enforceSignatureCheck": "Enforce script signature check",
    "runAs32Bit": "Run script in 64 bit PowerShell Host (off)",
    "fileName": "File name",
}

#: ``scheduledActionConfigurations`` elements by ``actionType``: the admin center's words.
ACTION_TYPE_LABELS: Final[dict[str, str]] = {
    "block": "Mark device noncompliant",
    "notification": "Send email to end user",
    "retire": "Add device to retire list",
    "remoteLock": "Remotely lock the noncompliant device",
    "pushNotification": "Send push notification to end user",
    "wipe": "Wipe",
}

#: Graph enum members of common properties -> the admin center's words for them. Keyed by
#: property name; a member not listed shows as Graph names it.
_DATA_TRANSFER: Final = {
    "allApps": "All apps",
    "managedApps": "Policy managed apps",
    "none": "None",
}
_THREAT_LEVEL: Final = {
    "notConfigured": "Not configured",
    "notSet": "Not set",
    "unavailable": "Unavailable",
    "secured": "Secured",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
}
_REMEDIATION: Final = {"block": "Block access", "wipe": "Wipe data", "warn": "Warn"}
_WIFI_SECURITY: Final = {
    "open": "Open (no authentication)",
    "wep": "WEP",
    "wpaPersonal": "WPA-Personal",
    "wpa2Personal": "WPA2-Personal",
    "wpaEnterprise": "WPA-Enterprise",
    "wpa2Enterprise": "WPA2-Enterprise",
}
VALUE_LABELS: Final[dict[str, dict[Any, str]]] = {
    # ---- app protection ----
    "allowedInboundDataTransferSources": _DATA_TRANSFER,
    "allowedOutboundDataTransferDestinations": _DATA_TRANSFER,
    "allowedOutboundClipboardSharingLevel": {
        "allApps": "Any app",
        "managedAppsWithPasteIn": "Policy managed apps with paste in",
        "managedApps": "Policy managed apps",
        "blocked": "Blocked",
    },
    "allowedDataStorageLocations": {
        "oneDriveForBusiness": "OneDrive for Business",
        "sharePoint": "SharePoint",
        "box": "Box",
        "localStorage": "Local storage",
        "photoLibrary": "Photo library",
    },
    "allowedDataIngestionLocations": {
        "oneDriveForBusiness": "OneDrive for Business",
        "sharePoint": "SharePoint",
        "camera": "Camera",
        "photoLibrary": "Photo library",
    },
    "managedBrowser": {"notConfigured": "Not configured", "microsoftEdge": "Microsoft Edge"},
    "appGroupType": {
        "selectedPublicApps": "Selected apps",
        "allCoreMicrosoftApps": "Core Microsoft apps",
        "allMicrosoftApps": "All Microsoft apps",
        "allApps": "All apps",
    },
    "pinCharacterSet": {"numeric": "Numeric", "alphanumericAndSymbol": "Passcode"},
    "notificationRestriction": {
        "allow": "Allow",
        "blockOrganizationalData": "Block org data",
        "block": "Block",
    },
    "dialerRestrictionLevel": {
        "allApps": "Any dialer app",
        "managedApps": "Any policy-managed dialer app",
        "customApp": "A specific dialer app",
        "blocked": "None, do not transfer this data between apps",
    },
    "appDataEncryptionType": {
        "useDeviceSettings": "Use device settings",
        "afterDeviceRestart": "After device restart",
        "whenDeviceLockedExceptOpenFiles": "When device is locked and there are open files",
        "whenDeviceLocked": "When device is locked",
    },
    "keyboardsRestricted": {True: "Require", False: "Not required"},
    "mobileThreatDefenseRemediationAction": _REMEDIATION,
    "appActionIfDeviceComplianceRequired": _REMEDIATION,
    "appActionIfMaximumPinRetriesExceeded": _REMEDIATION,
    "appActionIfUnableToAuthenticateUser": _REMEDIATION,
    "maximumAllowedDeviceThreatLevel": _THREAT_LEVEL,
    # ---- compliance ----
    "deviceThreatProtectionRequiredSecurityLevel": _THREAT_LEVEL,
    "advancedThreatProtectionRequiredSecurityLevel": _THREAT_LEVEL,
    "gatekeeperAllowedAppSource": {
        "notConfigured": "Not configured",
        "macAppStore": "Mac App Store",
        "macAppStoreAndIdentifiedDevelopers": "Mac App Store and identified developers",
        "anywhere": "Anywhere",
    },
    "passwordRequiredType": {"deviceDefault": "Device default"},
    "passcodeRequiredType": {"deviceDefault": "Device default"},
    # ---- Wi-Fi ----
    "wiFiSecurityType": _WIFI_SECURITY,
    "wifiSecurityType": _WIFI_SECURITY,
    "securityType": _WIFI_SECURITY,
    # ---- scripts: "Run this script using the logged on credentials" ----
    "runAsAccount": {"user": "Yes", "system": "No"},
    # a Win32 app's install behavior, not a script's credentials
    "installExperience.runAsAccount": {"system": "System", "user": "User"},
    # ---- Windows update rings ----
    "automaticUpdateMode": {
        "notifyDownload": "Notify download",
        "autoInstallAtMaintenanceTime": "Auto install at maintenance time",
        "autoInstallAndRebootAtMaintenanceTime": "Auto install and restart at maintenance time",
        "autoInstallAndRebootAtScheduledTime": "Auto install and restart at scheduled time",
        "autoInstallAndRebootWithoutEndUserControl": (
            "Auto install and restart without end-user control"
        ),
        "windowsDefault": "Reset to default",
    },
}

_DURATION: Final = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_DURATION_UNITS: Final = ("year", "month", "week", "day", "hour", "minute", "second")


def duration_label(value: str) -> str | None:
    """An ISO-8601 duration in words (``PT12H`` -> "12 hours", ``P90D`` -> "90 days",
    ``PT0S`` -> "0 seconds", ``P1DT12H`` -> "1 day 12 hours"); None when ``value`` is not
    one."""
    match = _DURATION.match(value)
    if match is None:
        return None
    parts: list[str] = []
    for amount, unit in zip(match.groups(), _DURATION_UNITS, strict=True):
        if amount is None:
            continue
        number = float(amount) if "." in amount else int(amount)
        if number == 0 and parts:
            continue
        text = f"{number:g}" if isinstance(number, float) else str(number)
        parts.append(f"{text} {unit}{'' if number == 1 else 's'}")
    nonzero = [part for part in parts if not part.startswith("0 ")]
    return " ".join(nonzero or parts[:1])


def value_label(name: str, value: Any, *, parent: str = "") -> Any:
    """Property ``name``'s ``value`` as the admin center reads it: a known enum member by its
    words (``VALUE_LABELS``; each element of a list of them), an ISO-8601 duration in words;
    anything else unchanged (the raw value stays in the diff's raw view)."""
    labels = VALUE_LABELS.get(f"{parent}.{name}") if parent else None
    labels = labels if labels is not None else VALUE_LABELS.get(name)
    if isinstance(value, list):
        if labels and all(isinstance(v, str) for v in value):
            return [labels.get(v, v) for v in value]
        return value
    if labels is not None and isinstance(value, str | bool) and value in labels:
        return labels[value]
    if isinstance(value, str):
        return duration_label(value) or value
    return value


#: Words the humanizer spells as the field does (lower-cased word -> spelling).
_SPELLINGS: Final[dict[str, str]] = {
    "os": "OS",
    "id": "ID",
    "ids": "IDs",
    "ip": "IP",
    "url": "URL",
    "urls": "URLs",
    "uri": "URI",
    "vpn": "VPN",
    "pin": "PIN",
    "mdm": "MDM",
    "tpm": "TPM",
    "usb": "USB",
    "nfc": "NFC",
    "sms": "SMS",
    "dns": "DNS",
    "http": "HTTP",
    "https": "HTTPS",
    "ssl": "SSL",
    "tls": "TLS",
    "api": "API",
    "oem": "OEM",
    "ssid": "SSID",
    "eap": "EAP",
    "guid": "GUID",
    "oma": "OMA",
    "ios": "iOS",
    "ipados": "iPadOS",
    "macos": "macOS",
    "icloud": "iCloud",
    "itunes": "iTunes",
    "imessage": "iMessage",
    "ipad": "iPad",
    "iphone": "iPhone",
    "facetime": "FaceTime",
    "applepay": "Apple Pay",
    "airdrop": "AirDrop",
    "airplay": "AirPlay",
    "wifi": "Wi-Fi",
    "bitlocker": "BitLocker",
    "onedrive": "OneDrive",
    "smartscreen": "SmartScreen",
    "windows": "Windows",
    "defender": "Defender",
    "android": "Android",
    "intune": "Intune",
    "cortana": "Cortana",
    "edge": "Edge",
    "utc": "UTC",
    "sku": "SKU",
    "aad": "Azure AD",
    "cpu": "CPU",
}

_WORD: Final = re.compile(r"[A-Z]{2,}s(?![a-z])|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
#: Apple's and Microsoft's camel-cased names, kept whole before the split (longest first).
_SPECIAL_PREFIXES: Final = (
    ("iPadOS", " ipados "),
    ("iOS", " ios "),
    ("macOS", " macos "),
    ("iCloud", " icloud "),
    ("iMessage", " imessage "),
    ("iTunes", " itunes "),
    ("iPad", " ipad "),
    ("IPad", " ipad "),
    ("iPhone", " iphone "),
    ("IPhone", " iphone "),
    ("FaceTime", " facetime "),
    ("ApplePay", " applepay "),
)
_VERSION: Final = re.compile(r"^v(\d+)_(\d+)$")


def humanize(name: str) -> str:
    """A camelCase / PascalCase / snake_case Graph name as words: the first capitalised, the
    rest lower case except the acronyms and product names of ``_SPELLINGS``.

    ``osMinimumVersion`` -> "OS minimum version", ``wiFiSecurityType`` -> "Wi-Fi security
    type", ``@odata.type`` -> "Graph type". A name without letters is returned as it is.
    """
    if name in PROPERTY_LABELS:
        return PROPERTY_LABELS[name]
    if version := _VERSION.match(name):  # minimumSupportedOperatingSystem.v10_0
        return f"Version {version[1]}.{version[2]}"
    text = name.lstrip("@")
    for spelled, marker in _SPECIAL_PREFIXES:
        text = text.replace(spelled, marker)
    text = re.sub(r"wiFi|WiFi", "wifi ", text)
    words = _WORD.findall(text.replace("_", " "))
    if not words:
        return name
    spelled_words = [_spelled(word) for word in words]
    first = spelled_words[0]
    if first == words[0].lower() or first == words[0]:
        first = first[:1].upper() + first[1:]
    return " ".join([first, *spelled_words[1:]])


def _spelled(word: str) -> str:
    if word.lower() in _SPELLINGS:
        return _SPELLINGS[word.lower()]
    if len(word) > 1 and (word.isupper() or re.fullmatch(r"[A-Z]{2,}s", word)):
        return word  # an acronym (URL) or its plural (URLs)
    return word.lower()


def property_label(name: str, *, parent: str = "") -> str:
    """The admin center's label for Graph property ``name`` (curated; ``parent.name`` first,
    for a name that means something else inside another object), else ``humanize``."""
    return (
        (PROPERTY_LABELS.get(f"{parent}.{name}") if parent else None)
        or PROPERTY_LABELS.get(name)
        or humanize(name)
    )


def action_type_label(action_type: str) -> str:
    """An action for noncompliance by its ``actionType`` (``block`` -> "Mark device
    noncompliant"); an unknown one humanized."""
    return ACTION_TYPE_LABELS.get(action_type) or humanize(action_type)
