<?xml version="1.0" encoding="utf-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" omit-xml-declaration="yes"/>
  <xsl:template match="/form">
    <form name="{@name}"><xsl:for-each select="field"><label><xsl:value-of select="@label"/></label><input name="{@name}" value="%%={@name}=%%"/></xsl:for-each></form>
  </xsl:template>
</xsl:stylesheet>
