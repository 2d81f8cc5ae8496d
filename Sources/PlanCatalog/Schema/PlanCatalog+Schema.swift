extension PlanCatalog {
    /// The XSD every catalog is validated against; `Plans/plans.xsd` holds the
    /// same text for people and XML tools (`keygate catalog schema` prints it).
    public static let schema = #"""
<?xml version="1.0" encoding="UTF-8"?>
<!--
  Keygate plan catalog, version 1.

  The schema checks the shape of a catalog; the loader (PlanCatalog) then
  checks what a schema cannot: that every reference names something declared,
  that ids are unique, that every plan prices every meter, that a rate-limit
  default stays under its ceiling, and so on.

  The loader carries this schema inside the PlanCatalog module
  (PlanCatalog+Schema.swift), so a catalog is always checked against the
  schema the loader was written for, wherever the binary runs. Plans/plans.xsd
  is the same text for people and XML tools; a test keeps the two equal, and
  `keygate catalog schema > Plans/plans.xsd` rewrites this file.
-->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:kg="urn:keygate:catalog:1"
           targetNamespace="urn:keygate:catalog:1"
           elementFormDefault="qualified"
           attributeFormDefault="unqualified">

  <xs:element name="catalog" type="kg:Catalog"/>

  <xs:complexType name="Catalog">
    <xs:sequence>
      <xs:element name="keys" type="kg:KeySettings"/>
      <xs:element name="capabilities" type="kg:Capabilities"/>
      <xs:element name="kinds" type="kg:Kinds"/>
      <xs:element name="meters" type="kg:Meters"/>
      <xs:element name="plans" type="kg:Plans"/>
      <xs:element name="routes" type="kg:Routes" minOccurs="0"/>
    </xs:sequence>
    <!-- The plan of an organization that billing has never named. -->
    <xs:attribute name="defaultPlan" type="kg:Identifier" use="required"/>
  </xs:complexType>

  <!-- Ids: lower or camel case words joined by '.', '_' or '-'. -->
  <xs:simpleType name="Identifier">
    <xs:restriction base="xs:string">
      <xs:pattern value="[A-Za-z][A-Za-z0-9]*([._\-][A-Za-z0-9]+)*"/>
      <xs:maxLength value="64"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- A key in Localization/ for text a person reads. -->
  <xs:simpleType name="MessageKey">
    <xs:restriction base="xs:string">
      <xs:pattern value="[A-Za-z][A-Za-z0-9]*([._\-][A-Za-z0-9]+)*"/>
      <xs:maxLength value="128"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- Key prefixes and environments are parts of a key separated by '_',
       so they are short lower-case alphanumeric words. -->
  <xs:simpleType name="KeyWord">
    <xs:restriction base="xs:string">
      <xs:pattern value="[a-z][a-z0-9]{0,15}"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- How a product's keys from before Keygate start: qv_pk_, sk_live_. -->
  <xs:simpleType name="LegacyPrefix">
    <xs:restriction base="xs:string">
      <xs:pattern value="[A-Za-z][A-Za-z0-9_\-]{1,31}"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:complexType name="KeySettings">
    <xs:sequence>
      <xs:element name="environment" maxOccurs="8">
        <xs:complexType>
          <xs:attribute name="id" type="kg:KeyWord" use="required"/>
        </xs:complexType>
      </xs:element>
      <!-- Keys issued before Keygate, moved in with keys.import: the prefix,
           then 16 to 128 of A-Z a-z 0-9 _ -, no checksum. Verification
           accepts them alongside new keys; they are recorded in the named
           environment. The product stored them as digests, made as named. -->
      <xs:element name="legacyFormat" minOccurs="0" maxOccurs="8">
        <xs:complexType>
          <xs:attribute name="prefix" type="kg:LegacyPrefix" use="required"/>
          <xs:attribute name="environment" type="kg:KeyWord" use="required"/>
          <xs:attribute name="digest" default="sha256">
            <xs:simpleType>
              <!-- SHA-256 of the whole key, as Keygate stores every key. -->
              <xs:restriction base="xs:string">
                <xs:enumeration value="sha256"/>
              </xs:restriction>
            </xs:simpleType>
          </xs:attribute>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
    <!-- Brands every key: kg_live_… -->
    <xs:attribute name="prefix" type="kg:KeyWord" use="required"/>
  </xs:complexType>

  <xs:complexType name="Reference">
    <xs:attribute name="ref" type="kg:Identifier" use="required"/>
  </xs:complexType>

  <xs:complexType name="Capabilities">
    <xs:sequence>
      <xs:element name="capability" maxOccurs="unbounded">
        <xs:complexType>
          <xs:attribute name="id" type="kg:Identifier" use="required"/>
          <xs:attribute name="description" type="kg:MessageKey" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>

  <xs:complexType name="Kinds">
    <xs:sequence>
      <xs:element name="kind" maxOccurs="unbounded">
        <xs:complexType>
          <!-- A kind either carries any capability its plan allows, or
               only the listed ones (and of those, only what the plan allows). -->
          <xs:choice>
            <xs:element name="anyCapability">
              <xs:complexType/>
            </xs:element>
            <xs:element name="capability" type="kg:Reference" maxOccurs="unbounded"/>
          </xs:choice>
          <xs:attribute name="id" type="kg:Identifier" use="required"/>
          <xs:attribute name="name" type="kg:MessageKey" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>

  <xs:simpleType name="MeterSource">
    <xs:restriction base="xs:string">
      <!-- counted by keys.verify, one per verified request (times its cost) -->
      <xs:enumeration value="verifications"/>
      <!-- the organization's active keys; its quota is the plan's key limit -->
      <xs:enumeration value="activeKeys"/>
      <!-- reported by the product through usage.record -->
      <xs:enumeration value="recorded"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:complexType name="Meters">
    <xs:sequence>
      <xs:element name="meter" maxOccurs="unbounded">
        <xs:complexType>
          <xs:attribute name="id" type="kg:Identifier" use="required"/>
          <xs:attribute name="name" type="kg:MessageKey" use="required"/>
          <xs:attribute name="source" type="kg:MeterSource" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>

  <!-- Plans are listed from the cheapest to the most expensive: that order
       decides which plan a refusal suggests and what counts as a downgrade. -->
  <xs:complexType name="Plans">
    <xs:sequence>
      <xs:element name="plan" type="kg:Plan" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>

  <xs:complexType name="Plan">
    <xs:sequence>
      <xs:choice>
        <xs:element name="noApiKeys">
          <xs:complexType/>
        </xs:element>
        <xs:element name="apiKeys" type="kg:ApiKeys"/>
      </xs:choice>
      <xs:element name="quotas">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="quota" type="kg:Quota" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="id" type="kg:Identifier" use="required"/>
    <xs:attribute name="name" type="kg:MessageKey" use="required"/>
  </xs:complexType>

  <xs:simpleType name="RequestsPerMinute">
    <xs:restriction base="xs:positiveInteger">
      <xs:maxInclusive value="1000"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:complexType name="ApiKeys">
    <xs:sequence>
      <xs:element name="rateLimit">
        <xs:complexType>
          <!-- requests per minute a new key gets when none is asked for -->
          <xs:attribute name="default" type="kg:RequestsPerMinute" use="required"/>
          <!-- the most a key on this plan may be given, and is clamped to -->
          <xs:attribute name="max" type="kg:RequestsPerMinute" use="required"/>
        </xs:complexType>
      </xs:element>
      <xs:element name="kind" type="kg:Reference" maxOccurs="unbounded"/>
      <xs:element name="capability" type="kg:Reference" maxOccurs="unbounded"/>
    </xs:sequence>
    <!-- The longest a key may live; absent means keys may never expire. -->
    <xs:attribute name="maxLifetimeDays" use="optional">
      <xs:simpleType>
        <xs:restriction base="xs:positiveInteger">
          <xs:maxInclusive value="36500"/>
        </xs:restriction>
      </xs:simpleType>
    </xs:attribute>
  </xs:complexType>

  <xs:simpleType name="QuotaLimit">
    <xs:union>
      <xs:simpleType>
        <xs:restriction base="xs:nonNegativeInteger">
          <xs:maxInclusive value="9007199254740991"/>
        </xs:restriction>
      </xs:simpleType>
      <xs:simpleType>
        <xs:restriction base="xs:string">
          <xs:enumeration value="unlimited"/>
        </xs:restriction>
      </xs:simpleType>
    </xs:union>
  </xs:simpleType>

  <xs:simpleType name="QuotaPeriod">
    <xs:restriction base="xs:string">
      <xs:enumeration value="day"/>
      <xs:enumeration value="month"/>
      <xs:enumeration value="none"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:complexType name="Quota">
    <xs:attribute name="meter" type="kg:Identifier" use="required"/>
    <xs:attribute name="limit" type="kg:QuotaLimit" use="required"/>
    <xs:attribute name="period" type="kg:QuotaPeriod" use="required"/>
  </xs:complexType>

  <xs:simpleType name="HTTPMethod">
    <xs:restriction base="xs:string">
      <xs:enumeration value="GET"/>
      <xs:enumeration value="HEAD"/>
      <xs:enumeration value="POST"/>
      <xs:enumeration value="PUT"/>
      <xs:enumeration value="PATCH"/>
      <xs:enumeration value="DELETE"/>
      <xs:enumeration value="OPTIONS"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="HTTPMethods">
    <xs:restriction>
      <xs:simpleType>
        <xs:list itemType="kg:HTTPMethod"/>
      </xs:simpleType>
      <xs:minLength value="1"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- A path pattern: '/'-separated segments, each literal, a '{name}'
       matching one segment, or a final '**' matching whatever follows. -->
  <xs:simpleType name="PathPattern">
    <xs:restriction base="xs:string">
      <xs:pattern value="/[^\s?#]*"/>
      <xs:maxLength value="512"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- Maps the requests of the product's public API to the capability
       each needs, so a gateway can verify by method and path. -->
  <xs:complexType name="Routes">
    <xs:sequence>
      <xs:element name="route" maxOccurs="unbounded">
        <xs:complexType>
          <xs:attribute name="methods" type="kg:HTTPMethods" use="required"/>
          <xs:attribute name="path" type="kg:PathPattern" use="required"/>
          <xs:attribute name="capability" type="kg:Identifier" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>
</xs:schema>
"""#
}
